// The session's side of pattern-matched lists (docs/lists.md): gathers the transaction's
// list recipients and who posts, and turns a message that already passed every list it
// is addressed to (and nothing else) into 554 5.4.6.
#include "log/log.hpp"
#include "session/session.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

ListFanout Session::list_fanout(std::string_view blob, const std::string& id) {
  std::vector<const directory::Delivery*> to_lists;
  for (const auto& r : txn_.recipients)
    if (r.delivery.kind == directory::RouteKind::list) to_lists.push_back(&r.delivery);
  if (to_lists.empty()) return {};
  ListPoster poster{user_id_, txn_.mail.path, txn_.checks ? &*txn_.checks : nullptr};
  ListFanout f;
  {
    auto rtxn = shared_.store.read();
    f = prepare_list_posts(*rtxn, to_lists, blob, shared_.settings.lists, shared_.routing, poster);
  }
  if (f.refused) {
    log::info("smtp.list.refused", {{"session", id_}, {"id", id}, {"from", txn_.mail.path}, {"code", f.refused->code},
                                    {"reason", f.refused->text}});
    return f;
  }
  if (f.looped) {
    log::info("smtp.list.loop", {{"session", id_}, {"id", id}, {"lists", f.looped}});
    // RFC 3463 X.4.6: a routing loop. Only when nothing else would receive the message.
    if (f.looped == txn_.recipients.size())
      f.refused = directory::Rejection{554, "5.4.6", "Routing loop detected: this message already passed the list"};
  }
  if (!f.entries.empty())
    log::info("smtp.list.fanout", {{"session", id_}, {"id", id}, {"lists", f.lists}, {"copies", f.entries.size()}});
  return f;
}

}  // namespace mailstead::smtp

// Pattern-matched lists at the end of DATA (docs/lists.md).
#include "list_gateway.hpp"

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "lists/lists.hpp"
#include "lists/message.hpp"
#include "mime/header.hpp"
#include "proto/sender_fields.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

namespace {

std::string domain_of(std::string_view a) {
  auto at = a.rfind('@');
  return at == std::string_view::npos ? std::string() : directory::lowercase_ascii(a.substr(at + 1));
}

// An unauthenticated post must prove it comes from the account: its From belongs to the
// same account as the envelope sender, and (unless verify_senders is off) DMARC passed for
// the From domain, or SPF passed for an envelope sender in the From domain.
std::optional<directory::Rejection> prove(store::ReadTxn& txn, std::string_view header, std::uint64_t account,
                                          const lists::Settings& settings, const directory::RoutingSettings& routing,
                                          const ListPoster& poster) {
  auto fields = examine_sender_fields(header);
  std::string from;
  for (const auto& a : fields.addresses)
    if (a.field == "From") from = a.address;
  if (from.empty()) from = poster.mail_from;
  auto owner = lists::account_of(txn, from, routing.delimiter);
  if (!owner || *owner != account)
    return directory::Rejection{550, "5.7.1", "The From address does not belong to the account that posts to this list"};
  if (!settings.verify_senders) return std::nullopt;
  const auto* v = poster.checks;
  bool proven = false;
  if (v) {
    proven = v->dmarc == "pass";
    for (const auto& c : v->clauses) {
      bool mailfrom = false;  // the MAIL FROM identity's result, not HELO's
      for (const auto& [k, val] : c.properties) mailfrom |= k == "smtp.mailfrom";
      if (c.method == "spf" && mailfrom && c.result == "pass" && !poster.mail_from.empty() &&
          domain_of(poster.mail_from) == domain_of(from))
        proven = true;
    }
  }
  if (!proven)
    return directory::Rejection{550, "5.7.1",
                                "List posts that are not sent logged in need DMARC or SPF to pass for the From domain"};
  return std::nullopt;
}

}  // namespace

ListFanout prepare_list_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                              std::string_view message, const lists::Settings& settings,
                              const directory::RoutingSettings& routing, const ListPoster& poster) {
  ListFanout f;
  auto header = message.substr(0, mime::header_end(message));
  bool proven = false;
  for (const auto* d : deliveries) {
    auto list = lists::get_list(txn, d->list);
    if (!list) continue;  // removed since RCPT
    if (lists::passed_list(header, list->name, list->site_domain)) {
      ++f.looped;
      continue;
    }
    auto user = directory::get_user(txn, d->list_poster);
    if (!user || !user->enabled) {
      f.refused = directory::Rejection{550, "5.7.1", "The posting account is gone or disabled"};
      return f;
    }
    if (!poster.authenticated_user && !proven) {
      if (auto no = prove(txn, header, user->id, settings, routing, poster)) {
        f.refused = *no;
        return f;
      }
      proven = true;
    }
    auto alias = lists::site_alias(user->address, list->site_domain);
    if (lists::site_alias_owner(txn, alias) != user->id) {
      f.refused = directory::Rejection{550, "5.7.1", "Your account has no site alias at " + list->site_domain +
                                                         " (its name is shared); ask the administrator"};
      return f;
    }
    auto captures = lists::match(list->pattern, d->address);
    if (!captures) continue;  // the list changed since RCPT
    auto members = lists::expand(txn, *list, *captures);
    if (members.size() > settings.max_members) {
      f.refused = directory::Rejection{552, "5.5.3", "The list has more members than one post may reach (" +
                                                         std::to_string(settings.max_members) + ")"};
      return f;
    }
    lists::CopyHeader h{list->name, d->address, list->site_domain, alias, user->display_name};
    auto bytes = lists::list_copy(message, h);
    f.copies.push_back({store::blob_key(bytes), std::move(bytes)});
    for (const auto& m : members) f.entries.push_back({alias, m.address, f.copies.size() - 1, user->id});
    ++f.lists;
  }
  return f;
}

std::error_code write_list_posts(store::WriteTxn& txn, const ListFanout& f, std::int64_t now) {
  for (const auto& c : f.copies)
    if (auto ec = store::put_blob(txn, c.key, c.bytes)) return ec;
  for (const auto& e : f.entries) {
    store::QueueRecord q;
    q.sender = e.sender;
    q.recipients = {e.recipient};
    q.blob = f.copies[e.copy].key;
    q.authenticated_user = e.poster;
    q.created = now;
    q.next_attempt = now;
    if (!store::enqueue(txn, std::move(q))) return store::Errc::aborted;
  }
  for (const auto& c : f.copies)
    if (auto ec = store::drop_unreferenced_blob(txn, c.key)) return ec;
  return {};
}

}  // namespace mailstead::smtp

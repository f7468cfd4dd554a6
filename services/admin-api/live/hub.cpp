// The live stream hub (see hub.hpp).
#include "live/hub.hpp"

#include <map>

#include "store/store.hpp"
#include "streams/messages.hpp"

namespace mailstead::live {

namespace {

// Each (stream, id known): the first message id above it, if any (asked once however many
// connections know that id: usually every watcher of a stream knows the same one).
void look(store::ReadTxn& txn, store::CommitWatch::Asks& asks) {
  for (auto& [ask, now] : asks) {
    streams::Query q;
    q.after = ask.second;
    q.limit = 1;
    auto found = streams::messages(txn, ask.first, q);
    if (!found.empty()) now = found.front().id;  // woken once; the connection reads and watches again
  }
}

}  // namespace

Hub::Hub(store::Store& store, std::chrono::milliseconds poll, bool threaded) : watch_(store, poll, look, threaded) {}

std::unique_ptr<Hub::Slot> Hub::acquire(const std::string& who, std::uint32_t max) {
  std::lock_guard lock(mu_);
  auto& n = held_[who];
  if (n >= max) return nullptr;
  ++n;
  return std::make_unique<Slot>(*this, who);
}

std::uint32_t Hub::connections(const std::string& who) {
  std::lock_guard lock(mu_);
  auto it = held_.find(who);
  return it == held_.end() ? 0 : it->second;
}

Hub::Slot::~Slot() {
  std::lock_guard lock(hub_.mu_);
  auto it = hub_.held_.find(who_);
  if (it != hub_.held_.end() && --it->second == 0) hub_.held_.erase(it);
}

}  // namespace mailstead::live

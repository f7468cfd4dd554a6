// The process-wide IDLE watcher (see watcher.hpp): what it looks at in the store.
#include "watcher.hpp"

#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::imap {

namespace {

// Each watched mailbox's HIGHESTMODSEQ (0: the mailbox is gone), read once however many
// values its sessions know (the asks are ordered by mailbox).
void look(store::ReadTxn& txn, store::CommitWatch::Asks& asks) {
  std::uint64_t last = 0, modseq = 0;
  bool have = false;
  for (auto& [ask, now] : asks) {
    if (!have || ask.first != last) {
      auto m = store::get_mailbox(txn, ask.first);
      modseq = m ? m->highestmodseq : 0;
      last = ask.first;
      have = true;
    }
    now = modseq;
  }
}

}  // namespace

Watcher::Watcher(store::Store& store, std::chrono::milliseconds poll, bool threaded)
    : watch_(store, poll, look, threaded) {}

}  // namespace mailstead::imap

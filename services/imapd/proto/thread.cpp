// Threading and base subjects (RFC 5256); i;unicode-casemap (RFC 5051) through libunistring.
#include "proto/thread.hpp"

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>

#include "mime/mime.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {

bool starts_ci(std::string_view s, std::size_t at, std::string_view p) {
  if (s.size() - std::min(at, s.size()) < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[at + i])) != p[i]) return false;
  return true;
}

// subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR any byte but "[" and "]": where it ends, or 0.
std::size_t blob_at(std::string_view s, std::size_t i) {
  if (i >= s.size() || s[i] != '[') return 0;
  auto close = s.find_first_of("[]", i + 1);
  if (close == std::string_view::npos || s[close] != ']') return 0;
  ++close;
  while (close < s.size() && s[close] == ' ') ++close;
  return close;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": where it ends, or 0.
std::size_t refwd_at(std::string_view s, std::size_t i) {
  if (starts_ci(s, i, "re")) i += 2;
  else if (starts_ci(s, i, "fw")) i += starts_ci(s, i + 2, "d") ? 3 : 2;
  else return 0;
  while (i < s.size() && s[i] == ' ') ++i;
  if (auto b = blob_at(s, i)) i = b;
  return i < s.size() && s[i] == ':' ? i + 1 : 0;
}

}  // namespace

std::string unicode_casemap(std::string_view utf8) {
  // RFC 5051: each character's (simple) titlecase mapping, then NFKD; compared as octets.
  std::vector<ucs4_t> chars;
  chars.reserve(utf8.size());
  const auto* p = reinterpret_cast<const std::uint8_t*>(utf8.data());
  const auto* end = p + utf8.size();
  while (p < end) {
    ucs4_t c = 0;
    int n = u8_mbtouc(&c, p, static_cast<std::size_t>(end - p));  // invalid bytes: U+FFFD
    chars.push_back(uc_totitle(c));
    p += n > 0 ? n : 1;
  }
  std::size_t len = 0;
  ucs4_t* norm = u32_normalize(UNINORM_NFKD, chars.data(), chars.size(), nullptr, &len);
  if (!norm) return std::string(utf8);
  std::size_t out_len = 0;
  std::uint8_t* out = u32_to_u8(norm, len, nullptr, &out_len);
  std::free(norm);
  if (!out) return std::string(utf8);
  std::string result(reinterpret_cast<const char*>(out), out_len);
  std::free(out);
  return result;
}

BaseSubject base_subject(std::string_view raw) {
  // RFC 5256 2.1, step by step.
  BaseSubject out;
  // (1) Decode encoded words; tabs and line breaks become spaces, runs of spaces one.
  std::string s;
  for (char c : mime::decode_words(raw)) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c != ' ' || (!s.empty() && s.back() != ' ')) s += c;
  }
  if (!s.empty() && s.front() == ' ') s.erase(0, 1);
  for (;;) {
    // (2) Trailers: "(fwd)" and white space, as often as they occur.
    for (;;) {
      if (!s.empty() && s.back() == ' ') s.pop_back();
      else if (s.size() >= 5 && starts_ci(s, s.size() - 5, "(fwd)")) {
        s.resize(s.size() - 5);
        out.reply = true;
      } else {
        break;
      }
    }
    // (3)-(5) Leaders: white space, or blobs before a "re:"/"fw:"/"fwd:" (a reply or
    // forward); then one leading blob when something is left after it; repeated.
    for (bool changed = true; changed;) {
      changed = false;
      std::size_t i = 0;
      while (i < s.size() && s[i] == ' ') ++i;
      std::size_t j = i;
      while (auto b = blob_at(s, j)) j = b;
      if (auto r = refwd_at(s, j)) {
        while (r < s.size() && s[r] == ' ') ++r;
        s.erase(0, r);
        out.reply = changed = true;
        continue;
      }
      if (i) {
        s.erase(0, i);
        changed = true;
        continue;
      }
      if (auto b = blob_at(s, 0); b && b < s.size()) {
        s.erase(0, b);
        changed = true;
      }
    }
    // (6) "[fwd: …]" around the whole: unwrap it and start again from (2).
    if (starts_ci(s, 0, "[fwd:") && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      while (!s.empty() && s.front() == ' ') s.erase(0, 1);
      out.reply = true;
      continue;
    }
    break;
  }
  // (7) The base subject, compared with the i;unicode-casemap collation (RFC 5256 3).
  out.text = unicode_casemap(s);
  return out;
}

std::vector<std::string> message_ids(std::string_view value) {
  std::vector<std::string> ids;
  std::size_t pos = 0;
  while ((pos = value.find('<', pos)) != std::string_view::npos) {
    auto end = value.find('>', pos);
    if (end == std::string_view::npos) break;
    auto id = value.substr(pos, end - pos + 1);
    // a msg-id has no spaces and one "@"; anything else is not a valid reference
    if (id.find_first_of(" \t\r\n<", 1) == std::string_view::npos && id.find('@') != std::string_view::npos)
      ids.emplace_back(id);
    pos = end + 1;
  }
  return ids;
}

namespace {

constexpr int kNone = -1;

struct Node {
  int message = kNone;  // index into the messages, kNone for a dummy
  int parent = kNone;
  std::vector<int> children;
};

class Forest {
 public:
  explicit Forest(const std::vector<ThreadMessage>& msgs) : msgs_(msgs) {}

  int add(int message = kNone) {
    nodes_.push_back(Node{message, kNone, {}});
    return static_cast<int>(nodes_.size()) - 1;
  }
  Node& operator[](int i) { return nodes_[static_cast<std::size_t>(i)]; }

  bool is_ancestor(int maybe_ancestor, int n) {
    if ((*this)[maybe_ancestor].children.empty()) return maybe_ancestor == n;  // the common case, O(1)
    for (int p = n; p != kNone; p = (*this)[p].parent)
      if (p == maybe_ancestor) return true;
    return false;
  }
  void unlink(int child) {
    int p = (*this)[child].parent;
    if (p == kNone) return;
    auto& siblings = (*this)[p].children;
    siblings.erase(std::find(siblings.begin(), siblings.end(), child));
    (*this)[child].parent = kNone;
  }
  void link(int parent, int child) {
    (*this)[child].parent = parent;
    (*this)[parent].children.push_back(child);
  }

  // The sent date and sequence position a node sorts by; a dummy takes its first child's.
  std::pair<std::int64_t, int> key(int n) {
    while ((*this)[n].message == kNone && !(*this)[n].children.empty()) n = (*this)[n].children.front();
    int m = (*this)[n].message;
    if (m == kNone) return {0, 0};
    return {msgs_[static_cast<std::size_t>(m)].sent, m};
  }
  void sort_children(int n) {
    auto& ch = (*this)[n].children;
    std::stable_sort(ch.begin(), ch.end(), [&](int a, int b) { return key(a) < key(b); });
  }
  // Every node under `root`, children before their parent, without recursion (reference
  // chains can be as long as the mailbox).
  std::vector<int> post_order(int root) {
    std::vector<int> order, stack{root};
    while (!stack.empty()) {
      int n = stack.back();
      stack.pop_back();
      order.push_back(n);
      for (int c : (*this)[n].children) stack.push_back(c);
    }
    std::reverse(order.begin(), order.end());
    return order;
  }

  // "(a b (c)(d))" for every child of `root`: one child continues the line, several each
  // get parentheses (RFC 5256 4). Iterative, like post_order.
  std::string render(int root) {
    enum class Kind { node, open, close };
    std::string out;
    std::vector<std::pair<Kind, int>> stack;
    for (auto it = (*this)[root].children.rbegin(); it != (*this)[root].children.rend(); ++it) {
      stack.emplace_back(Kind::close, 0);
      stack.emplace_back(Kind::node, *it);
      stack.emplace_back(Kind::open, 0);
    }
    while (!stack.empty()) {
      auto [kind, n] = stack.back();
      stack.pop_back();
      if (kind != Kind::node) {
        out += kind == Kind::open ? '(' : ')';
        continue;
      }
      const auto& node = (*this)[n];
      if (node.message != kNone) {
        if (out.back() != '(') out += ' ';
        out += std::to_string(msgs_[static_cast<std::size_t>(node.message)].number);
      }
      if (node.children.size() == 1) {
        stack.emplace_back(Kind::node, node.children.front());
      } else if (!node.children.empty()) {
        if (node.message != kNone) out += ' ';
        for (auto it = node.children.rbegin(); it != node.children.rend(); ++it) {
          stack.emplace_back(Kind::close, 0);
          stack.emplace_back(Kind::node, *it);
          stack.emplace_back(Kind::open, 0);
        }
      }
    }
    return out;
  }

 private:
  const std::vector<ThreadMessage>& msgs_;
  std::vector<Node> nodes_;
};

}  // namespace

std::string thread_orderedsubject(const std::vector<ThreadMessage>& messages) {
  // Sort by base subject then sent date; each run of one subject is a thread whose first
  // message is the parent of the rest (RFC 5256 4, ORDEREDSUBJECT).
  std::vector<int> order(messages.size());
  std::vector<std::string> subjects(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    order[i] = static_cast<int>(i);
    subjects[i] = base_subject(messages[i].subject).text;
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    auto ua = static_cast<std::size_t>(a), ub = static_cast<std::size_t>(b);
    if (subjects[ua] != subjects[ub]) return subjects[ua] < subjects[ub];
    return messages[ua].sent < messages[ub].sent;
  });
  Forest f(messages);
  int root = f.add();
  int current = kNone;
  std::string subject;
  for (int m : order) {
    int n = f.add(m);
    const auto& s = subjects[static_cast<std::size_t>(m)];
    if (current != kNone && s == subject) {
      f.link(current, n);
    } else {
      f.link(root, n);
      current = n;
      subject = s;
    }
  }
  f.sort_children(root);
  return f.render(root);
}

std::string thread_references(const std::vector<ThreadMessage>& messages) {
  Forest f(messages);
  std::unordered_map<std::string, int> by_id;
  auto container = [&](const std::string& id) {
    auto [it, fresh] = by_id.try_emplace(id, kNone);
    if (fresh) it->second = f.add();
    return it->second;
  };
  // (1) Link the References chains and place each message under its last reference.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    auto refs = message_ids(m.references);
    if (refs.empty()) {
      auto irt = message_ids(m.in_reply_to);
      if (!irt.empty()) refs.push_back(irt.front());
    }
    int prev = kNone;
    for (const auto& r : refs) {
      int c = container(r);
      if (prev != kNone && f[c].parent == kNone && !f.is_ancestor(c, prev)) f.link(prev, c);
      prev = c;
    }
    auto ids = message_ids(m.message_id);
    int self = kNone;
    if (!ids.empty()) {
      int c = container(ids.front());
      if (f[c].message == kNone) self = c;  // a duplicate Message-ID is treated as unique
    }
    if (self == kNone) self = f.add();
    f[self].message = static_cast<int>(i);
    // (1.C) The message's parent is its last reference, or none at all: a parent that
    // others' References gave it goes (it was probably from a truncated References).
    if (prev == kNone) {
      f.unlink(self);
    } else if (prev != self && !f.is_ancestor(self, prev)) {
      f.unlink(self);
      f.link(prev, self);
    }
  }
  // (2) The root set: every container without a parent.
  int root = f.add();
  for (int n = 0; n < root; ++n)
    if (f[n].parent == kNone) f.link(root, n);
  // (3) Prune dummies: drop empty ones, promote their children, but at the root only a
  // dummy's single child.
  for (int n : f.post_order(root)) {
    std::vector<int> kept;
    for (int c : f[n].children) {
      if (f[c].message != kNone) {
        kept.push_back(c);
      } else if (f[c].children.empty()) {
        f[c].parent = kNone;
      } else if (n != root || f[c].children.size() == 1) {
        for (int g : f[c].children) {
          f[g].parent = n;
          kept.push_back(g);
        }
        f[c].children.clear();
        f[c].parent = kNone;
      } else {
        kept.push_back(c);
      }
    }
    f[n].children = std::move(kept);
  }
  // (4) Sort the root set by sent date.
  for (int n : f.post_order(root)) f.sort_children(n);
  // (5) Gather roots with the same base subject.
  auto subject_of = [&](int n) {
    int m = f[n].message != kNone ? f[n].message : f[f[n].children.front()].message;
    return m == kNone ? BaseSubject{} : base_subject(messages[static_cast<std::size_t>(m)].subject);
  };
  std::map<std::string, int> by_subject;
  for (int n : f[root].children) {
    auto s = subject_of(n);
    if (s.text.empty()) continue;
    auto it = by_subject.find(s.text);
    if (it == by_subject.end()) {
      by_subject.emplace(s.text, n);
      continue;
    }
    int old = it->second;
    bool old_dummy = f[old].message == kNone, dummy = f[n].message == kNone;
    if ((dummy && !old_dummy) || (!old_dummy && !dummy && subject_of(old).reply && !s.reply)) it->second = n;
  }
  std::vector<int> roots = f[root].children;
  for (int n : roots) {
    if (f[n].parent != root) continue;  // merged already
    auto s = subject_of(n);
    if (s.text.empty()) continue;
    int& holder = by_subject[s.text];
    int t = holder;
    if (t == n) continue;
    bool t_dummy = f[t].message == kNone, dummy = f[n].message == kNone;
    if (t_dummy && dummy) {
      f.unlink(n);
      for (int c : std::vector<int>(f[n].children)) {
        f.unlink(c);
        f.link(t, c);
      }
    } else if (t_dummy && !dummy) {
      f.unlink(n);
      f.link(t, n);
    } else if (!t_dummy && s.reply && !subject_of(t).reply) {
      f.unlink(n);
      f.link(t, n);
    } else {
      int d = f.add();
      auto& siblings = f[root].children;
      *std::find(siblings.begin(), siblings.end(), t) = d;
      f[d].parent = root;
      f[t].parent = kNone;
      f.link(d, t);
      f.unlink(n);
      f.link(d, n);
      holder = d;
    }
  }
  // (6) Sort every set of siblings by sent date.
  for (int n : f.post_order(root)) f.sort_children(n);
  return f.render(root);
}

}  // namespace mailstead::imap

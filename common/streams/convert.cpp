// Email → stream message conversion (docs/streams.md, "Conversion"). HTML goes through
// gumbo (an HTML5 parser from Debian's packages), never through hand-written parsing.
#include "streams/convert.hpp"

#include <gumbo.h>

#include <algorithm>

#include "mime/header.hpp"
#include "mime/mime.hpp"
#include "mime/text.hpp"
#include "util/text.hpp"

namespace mailstead::streams {

namespace {

bool starts_with_ci(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}

// One reply/forward prefix at the start ("Re:", "RE :", "Fwd:", "AW:", "Re[2]:"), its length or 0.
std::size_t prefix_length(std::string_view s, bool forwards_only = false) {
  static const char* const replies[] = {"re", "aw", "sv", "vs", "antw", "odp", "res", "rif", "ref", "r"};
  static const char* const forwards[] = {"fwd", "fw", "wg", "tr", "enc", "rv", "doorst"};
  auto try_word = [&](std::string_view w) -> std::size_t {
    if (!starts_with_ci(s, w)) return 0;
    std::size_t i = w.size();
    if (i < s.size() && s[i] == '[') {
      auto close = s.find(']', i);
      if (close == std::string_view::npos || close - i > 5) return 0;
      i = close + 1;
    }
    while (i < s.size() && s[i] == ' ') ++i;
    if (i < s.size() && (s[i] == ':' || s.substr(i).starts_with("\xEF\xBC\x9A"))) return i + (s[i] == ':' ? 1 : 3);
    return 0;
  };
  for (auto* w : forwards)
    if (auto n = try_word(w)) return n;
  if (forwards_only) return 0;
  for (auto* w : replies)
    if (auto n = try_word(w)) return n;
  return 0;
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      if (c == '\t' || c == '\n' || c == '\r') space = !out.empty();
      continue;  // non-printable: dropped
    }
    if (c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      if (start < text.size()) lines.push_back(text.substr(start));
      break;
    }
    auto line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = nl + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string_view>& lines, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n && i < lines.size(); ++i) {
    out.append(lines[i]);
    out.push_back('\n');
  }
  return out;
}

// Trailing spaces off each line, runs of blank lines to one, blank lines off both ends.
std::string tidy(std::string_view text) {
  std::string out;
  int blanks = 0;
  for (auto line : split_lines(text)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) {
      ++blanks;
      continue;
    }
    if (!out.empty()) out += blanks ? "\n\n" : "\n";
    blanks = 0;
    out.append(line);
  }
  return out;
}

bool is_quote_line(std::string_view l) {
  auto t = trim(l);
  return !t.empty() && t.front() == '>';
}

// "On Mon, 1 Jan 2024, Ann <a@b> wrote:", "Am … schrieb:", "Le … a écrit :", "El … escribió:".
bool is_attribution(std::string_view l) {
  auto t = trim(l);
  if (t.empty() || t.back() != ':') return false;
  return (starts_with_ci(t, "on ") && t.find("wrote") != std::string_view::npos) ||
         (starts_with_ci(t, "am ") && t.find("schrieb") != std::string_view::npos) ||
         (starts_with_ci(t, "le ") && t.find("crit") != std::string_view::npos) ||
         (starts_with_ci(t, "el ") && t.find("escribi") != std::string_view::npos) ||
         (t.find(" wrote:") != std::string_view::npos && t.size() < 200);
}

// ---- HTML ----

struct HtmlWriter {
  std::string out;
  int pre = 0;
  int depth = 0;

  void text(std::string_view s) {
    if (pre) {
      out.append(s);
      return;
    }
    for (unsigned char c : s) {
      bool ws = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
      if (ws) {
        if (!out.empty() && out.back() != ' ' && out.back() != '\n') out.push_back(' ');
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
  void newline() {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out.push_back('\n');
  }
  void block() {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (!out.empty() && out.back() != '\n') out.push_back('\n');
  }
  void paragraph() {
    block();
    if (!out.empty() && !out.ends_with("\n\n")) out.push_back('\n');
  }

  void children(const GumboNode* n) {
    const GumboVector& kids = n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
    for (unsigned i = 0; i < kids.length; ++i) node(static_cast<const GumboNode*>(kids.data[i]));
  }

  void node(const GumboNode* n) {
    switch (n->type) {
      case GUMBO_NODE_TEXT:
      case GUMBO_NODE_CDATA:
      case GUMBO_NODE_WHITESPACE: text(n->v.text.text); return;
      case GUMBO_NODE_DOCUMENT: children(n); return;
      case GUMBO_NODE_ELEMENT:
      case GUMBO_NODE_TEMPLATE: break;
      default: return;
    }
    // Deeper than any real mail: the text is kept flat, the markup ignored.
    if (++depth > 200) {
      children_flat(n);
      --depth;
      return;
    }
    element(n);
    --depth;
  }

  void children_flat(const GumboNode* n) {
    // Iterative walk for hostile nesting.
    std::vector<const GumboNode*> stack{n};
    std::string flat;
    while (!stack.empty()) {
      auto* cur = stack.back();
      stack.pop_back();
      if (cur->type == GUMBO_NODE_TEXT || cur->type == GUMBO_NODE_WHITESPACE || cur->type == GUMBO_NODE_CDATA) {
        text(cur->v.text.text);
        continue;
      }
      if (cur->type != GUMBO_NODE_ELEMENT && cur->type != GUMBO_NODE_TEMPLATE) continue;
      auto tag = cur->v.element.tag;
      if (tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE || tag == GUMBO_TAG_HEAD) continue;
      const auto& kids = cur->v.element.children;
      for (unsigned i = kids.length; i > 0; --i) stack.push_back(static_cast<const GumboNode*>(kids.data[i - 1]));
    }
  }

  void element(const GumboNode* n) {
    const auto& e = n->v.element;
    switch (e.tag) {
      case GUMBO_TAG_SCRIPT:
      case GUMBO_TAG_STYLE:
      case GUMBO_TAG_HEAD:
      case GUMBO_TAG_TITLE:
      case GUMBO_TAG_NOSCRIPT:
        return;
      case GUMBO_TAG_BR: newline(); return;
      case GUMBO_TAG_HR:
        paragraph();
        out += "---";
        paragraph();
        return;
      case GUMBO_TAG_IMG: {
        auto* alt = gumbo_get_attribute(&e.attributes, "alt");
        if (alt && *alt->value) text(alt->value);
        return;
      }
      case GUMBO_TAG_P:
      case GUMBO_TAG_H1:
      case GUMBO_TAG_H2:
      case GUMBO_TAG_H3:
      case GUMBO_TAG_H4:
      case GUMBO_TAG_H5:
      case GUMBO_TAG_H6:
      case GUMBO_TAG_TABLE:
      case GUMBO_TAG_UL:
      case GUMBO_TAG_OL: {
        paragraph();
        if (e.tag >= GUMBO_TAG_H1 && e.tag <= GUMBO_TAG_H6) {
          out += std::string(static_cast<std::size_t>(e.tag - GUMBO_TAG_H1 + 1), '#');
          out += ' ';
        }
        children(n);
        paragraph();
        return;
      }
      case GUMBO_TAG_DIV:
      case GUMBO_TAG_TR:
      case GUMBO_TAG_SECTION:
      case GUMBO_TAG_ARTICLE:
      case GUMBO_TAG_HEADER:
      case GUMBO_TAG_FOOTER:
      case GUMBO_TAG_DL:
      case GUMBO_TAG_DT:
      case GUMBO_TAG_DD:
        block();
        children(n);
        block();
        return;
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        children(n);
        text(" ");
        return;
      case GUMBO_TAG_LI:
        block();
        out += "* ";
        children(n);
        block();
        return;
      case GUMBO_TAG_PRE:
        paragraph();
        ++pre;
        children(n);
        --pre;
        paragraph();
        return;
      case GUMBO_TAG_B:
      case GUMBO_TAG_STRONG: wrap(n, "**"); return;
      case GUMBO_TAG_I:
      case GUMBO_TAG_EM: wrap(n, "*"); return;
      case GUMBO_TAG_BLOCKQUOTE: {
        paragraph();
        HtmlWriter inner;
        inner.depth = depth;
        inner.children(n);
        for (auto line : split_lines(tidy(inner.out))) {
          out += line.empty() ? ">" : "> ";
          out.append(line);
          out.push_back('\n');
        }
        paragraph();
        return;
      }
      case GUMBO_TAG_A: {
        auto* href = gumbo_get_attribute(&e.attributes, "href");
        std::string target = href ? std::string(trim(href->value)) : "";
        bool link = !target.empty() && target.front() != '#' && !starts_with_ci(target, "javascript:");
        if (!link) return children(n);
        HtmlWriter inner;
        inner.depth = depth;
        inner.children(n);
        auto label = collapse_spaces(inner.out);
        if (label.empty() || label == target || "mailto:" + label == target) {
          text(target.starts_with("mailto:") ? target.substr(7) : target);
        } else {
          out += "[" + label + "](" + target + ")";
        }
        return;
      }
      default: children(n); return;
    }
  }

  void wrap(const GumboNode* n, const char* mark) {
    HtmlWriter inner;
    inner.depth = depth;
    inner.children(n);
    auto t = collapse_spaces(inner.out);
    if (t.empty()) return;
    if (!out.empty() && out.back() != ' ' && out.back() != '\n' && inner.out.front() == ' ') out.push_back(' ');
    out += mark + t + mark;
  }
};

std::string filename_of(const mime::Part& p) {
  std::string name;
  for (const auto& [k, v] : p.disposition_params)
    if (k == "filename") name = v;
  if (name.empty()) name = std::string(p.param("name"));
  if (name.empty()) return "";
  name = mime::decode_words(name);
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '"') continue;
    out.push_back(static_cast<char>(c));
  }
  out = cut_utf8(std::string(trim(out)), 200);
  while (!out.empty() && out.front() == '.') out.erase(0, 1);
  return out.empty() ? "attachment" : out;
}

bool is_attachment(const mime::Part& p) {
  return p.disposition == "attachment" || !filename_of(p).empty();
}

struct Walk {
  const mime::Part* plain = nullptr;
  const mime::Part* html = nullptr;
  std::vector<const mime::Part*> files;

  void visit(const mime::Part& p) {
    if (p.is_multipart() || (p.is_message() && !p.children.empty() && !is_attachment(p))) {
      for (const auto& c : p.children) visit(c);
      return;
    }
    if (is_attachment(p)) {
      files.push_back(&p);
      return;
    }
    if (p.type == "text" && p.subtype == "plain" && !plain) plain = &p;
    else if (p.type == "text" && p.subtype == "html" && !html) html = &p;
  }
};

std::string part_text(std::string_view message, const mime::Part& p) {
  auto raw = mime::decoded_body(message, p);
  auto cs = p.param("charset");
  std::string text = mime::to_utf8(raw, std::string(cs));
  std::string out;
  out.reserve(text.size());
  for (char c : text)
    if (c != '\0' && c != '\r') out.push_back(c);
  return out;
}

}  // namespace

std::string cut_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n));
}

bool is_forward(std::string_view subject) {
  auto s = trim(subject);
  for (int i = 0; i < 10; ++i) {
    if (prefix_length(s, true)) return true;
    auto n = prefix_length(s);
    if (!n) return false;
    s = trim(s.substr(n));
  }
  return false;
}

std::string subject_to_topic(std::string_view subject, std::size_t max_bytes) {
  auto s = collapse_spaces(mime::decode_words(subject));
  std::string_view v(s);
  for (std::size_t n; (n = prefix_length(v)) != 0;) v = trim(v.substr(n));
  std::string topic = cut_utf8(trim(v), max_bytes);
  topic = std::string(trim(topic));
  return topic.empty() ? "Email with no subject" : topic;
}

std::string html_to_text(std::string_view html, std::size_t max_input) {
  auto input = html.substr(0, max_input);
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 1000;
  GumboOutput* parsed = gumbo_parse_with_options(&options, input.data(), input.size());
  if (!parsed) return "";
  HtmlWriter w;
  w.node(parsed->document);
  gumbo_destroy_output(&options, parsed);
  return tidy(w.out);
}

std::string strip_quotes(std::string_view text) {
  auto lines = split_lines(text);
  std::vector<std::string_view> kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto t = trim(lines[i]);
    // Outlook and friends: everything from the original's header block on.
    if (t.starts_with("-----Original Message-----") || t.starts_with("-------- Original Message --------") ||
        t.starts_with("-----Ursprüngliche Nachricht-----"))
      break;
    if (starts_with_ci(t, "from:") && i + 1 < lines.size() &&
        (starts_with_ci(trim(lines[i + 1]), "sent:") || starts_with_ci(trim(lines[i + 1]), "date:")))
      break;
    if (is_quote_line(lines[i])) continue;
    if (is_attribution(lines[i])) {
      // The attribution belongs to a quote that follows (after blank lines).
      std::size_t j = i + 1;
      while (j < lines.size() && trim(lines[j]).empty()) ++j;
      if (j == lines.size() || is_quote_line(lines[j])) continue;
    }
    // An attribution folded over two lines ("On …, Ann <a@b>\n wrote:").
    if (i + 1 < lines.size() && starts_with_ci(t, "on ") && is_attribution(std::string(t) + " " + std::string(trim(lines[i + 1]))) &&
        i + 2 < lines.size() && is_quote_line(lines[i + 2])) {
      ++i;
      continue;
    }
    kept.push_back(lines[i]);
  }
  return tidy(join_lines(kept, kept.size()));
}

std::string strip_footer(std::string_view text) {
  auto lines = split_lines(text);
  std::size_t n = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i] == "-- " || lines[i] == "--") {
      n = i;
      break;
    }
  return tidy(join_lines(lines, n));
}

Converted convert(std::string_view message, const Options& options, const ConvertLimits& limits) {
  Converted c;
  auto root = mime::parse(message);
  auto header = message.substr(0, std::min(root.header_end, message.size()));
  auto subjects = mime::field_values(header, "subject");
  std::string subject = subjects.empty() ? "" : subjects.front();
  c.topic = subject_to_topic(subject, limits.max_topic_bytes);
  auto froms = mime::field_values(header, "from");
  if (!froms.empty()) {
    for (const auto& a : mime::parse_addresses(froms.front())) {
      if (a.group_start || a.group_end || a.mailbox.empty()) continue;
      c.from_address = a.mailbox + (a.host.empty() ? "" : "@" + a.host);
      c.from_name = collapse_spaces(mime::decode_words(a.name));
      break;
    }
  }

  Walk w;
  w.visit(root);
  std::string text;
  bool use_html = w.html && (!w.plain || (options.prefer_html && !options.prefer_text));
  if (use_html) {
    text = html_to_text(part_text(message, *w.html), limits.max_html_bytes);
    c.html = true;
  } else if (w.plain) {
    text = tidy(part_text(message, *w.plain));
  }
  if (!options.include_footer) text = strip_footer(text);
  if (!options.include_quotes && !is_forward(subject)) text = strip_quotes(text);
  if (text.size() > limits.max_body_bytes) {
    text = tidy(cut_utf8(text, limits.max_body_bytes));
    c.truncated = true;
  }
  c.body = text;

  std::uint64_t total = 0;
  for (const auto* p : w.files) {
    if (c.attachments.size() >= limits.max_attachments) {
      c.truncated = true;
      break;
    }
    auto bytes = mime::decoded_body(message, *p);
    if (total + bytes.size() > limits.max_attachment_bytes) {
      c.truncated = true;
      continue;
    }
    total += bytes.size();
    auto name = filename_of(*p);
    c.attachments.push_back({name.empty() ? "attachment" : name, p->type + "/" + p->subtype, std::move(bytes)});
  }
  return c;
}

std::string compose_body(const Converted& c, const Options& options, const std::vector<std::string>& urls) {
  std::string out;
  if (options.show_sender && !c.from_address.empty()) {
    out += "From: ";
    out += c.from_name.empty() ? c.from_address : c.from_name + " <" + c.from_address + ">";
    out += "\n";
  }
  out += c.body;
  if (c.truncated) out += (out.empty() ? "" : "\n") + std::string("[message truncated]");
  if (trim(out).empty() && c.attachments.empty()) out = "(No email body)";
  for (std::size_t i = 0; i < c.attachments.size() && i < urls.size(); ++i)
    out += (out.empty() ? "" : "\n") + ("[" + c.attachments[i].name + "](" + urls[i] + ")");
  return out;
}

}  // namespace mailstead::streams

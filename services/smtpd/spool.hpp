// Where a message waits between the client's bytes and the store (docs/smtp.md, "Memory"):
// the first bytes in memory, the rest in an unnamed file in <data_dir>/spool that vanishes
// when closed. Two process-wide budgets bound what all sessions hold at once: memory (the
// in-memory parts and the messages being parsed and stored) and spool disk space.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/budget.hpp"

namespace mailstead::smtp {

struct SpoolLimits {
  std::uint64_t memory_budget = 128ull << 20;  // message bytes in memory, all sessions
  std::uint64_t memory_threshold = 256 << 10;  // per message; beyond it the message goes to disk
  std::uint64_t disk_budget = 4ull << 30;      // spool file bytes, all sessions
};

class Spool {
 public:
  Spool(std::string dir, SpoolLimits limits);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Creates the directory (mode 0700; owned by `owner` when started as root, so the
  // service can still write it after dropping privileges) and keeps it open. Returns ""
  // or why it cannot.
  std::string open(const std::string& owner);

  const SpoolLimits& limits() const { return limits_; }
  net::ByteBudget& memory() { return memory_; }
  net::ByteBudget& disk() { return disk_; }
  // An unnamed read-write file in the spool directory, or -1 (errno set).
  int create_file() const;

 private:
  std::string dir_;
  SpoolLimits limits_;
  int dir_fd_ = -1;
  net::ByteBudget memory_, disk_;
};

// One message on its way in. Not thread-safe (it lives in one session).
class SpooledMessage {
 public:
  // Room kept in front of a spooled message for the Received field (and a From field
  // added on submission), written once the message is complete.
  static constexpr std::size_t prefix_room = 8192;

  explicit SpooledMessage(Spool& spool) : spool_(spool) {}
  ~SpooledMessage();
  SpooledMessage(const SpooledMessage&) = delete;
  SpooledMessage& operator=(const SpooledMessage&) = delete;

  // Appends message bytes; after a failure they are counted but dropped.
  void append(std::string_view bytes);
  std::uint64_t size() const { return size_; }
  bool on_disk() const { return fd_ >= 0; }

  enum class Failure { none, no_room, io };
  Failure failure() const { return failure_; }

  // The message as one contiguous view: in memory, or the spool file mapped read-only.
  // Valid until prepend() or destruction; nullopt when it cannot be mapped.
  std::optional<std::string_view> view();
  // Puts `prefix` (at most prefix_room bytes) in front and returns the whole, valid while
  // this object lives.
  std::optional<std::string_view> prepend(std::string_view prefix);

 private:
  bool spill();
  void fail(int err);
  Spool& spool_;
  std::string memory_;
  net::Held memory_held_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t disk_held_ = 0;
  Failure failure_ = Failure::none;
  char* map_ = nullptr;
  std::size_t map_len_ = 0;
};

}  // namespace mailstead::smtp

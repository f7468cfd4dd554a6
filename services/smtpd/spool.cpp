// Message spooling (see spool.hpp). Spool files are O_TMPFILE files (or, where the file
// system lacks it, files unlinked as soon as they are made): nothing is left behind by a
// crash, and a file's space is freed when the session closes it.
#include "spool.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mailstead::smtp {

Spool::Spool(std::string dir, SpoolLimits limits)
    : dir_(std::move(dir)), limits_(limits), memory_(limits.memory_budget), disk_(limits.disk_budget) {}

Spool::~Spool() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::string Spool::open(const std::string& owner) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create the spool directory " + dir_ + ": " + std::strerror(errno);
  if (::geteuid() == 0 && !owner.empty()) {
    if (struct passwd* pw = ::getpwnam(owner.c_str()); pw && ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      return "cannot give the spool directory " + dir_ + " to " + owner + ": " + std::strerror(errno);
  }
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) return "cannot open the spool directory " + dir_ + ": " + std::strerror(errno);
  return "";
}

int Spool::create_file() const {
  if (dir_fd_ < 0) {
    errno = ENOENT;
    return -1;
  }
  int fd = ::openat(dir_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  // No O_TMPFILE here: a random name, unlinked at once.
  for (int attempt = 0; attempt < 8; ++attempt) {
    char name[32];
    std::snprintf(name, sizeof name, "msg.%016llx", static_cast<unsigned long long>(randombytes_random()) << 32 |
                                                        randombytes_random());
    fd = ::openat(dir_fd_, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::unlinkat(dir_fd_, name, 0);
      return fd;
    }
    if (errno != EEXIST) return -1;
  }
  return -1;
}

SpooledMessage::~SpooledMessage() {
  if (map_) ::munmap(map_, map_len_);
  if (fd_ >= 0) ::close(fd_);
  if (disk_held_) spool_.disk().give(disk_held_);
}

void SpooledMessage::fail(int err) {
  failure_ = err == ENOSPC || err == EDQUOT || err == EFBIG ? Failure::no_room : Failure::io;
  memory_.clear();
  memory_.shrink_to_fit();
  memory_held_.release();
}

bool SpooledMessage::spill() {
  fd_ = spool_.create_file();
  if (fd_ < 0) {
    fail(errno);
    return false;
  }
  if (!spool_.disk().try_take(prefix_room + memory_.size())) {
    fail(ENOSPC);
    return false;
  }
  disk_held_ = prefix_room + memory_.size();
  // The room for the prefix is a hole until prepend() fills it.
  if (::ftruncate(fd_, static_cast<off_t>(prefix_room)) != 0 ||
      (!memory_.empty() && ::pwrite(fd_, memory_.data(), memory_.size(), prefix_room) !=
                               static_cast<ssize_t>(memory_.size()))) {
    fail(errno ? errno : EIO);
    return false;
  }
  memory_.clear();
  memory_.shrink_to_fit();
  memory_held_.release();
  return true;
}

void SpooledMessage::append(std::string_view bytes) {
  auto offset = size_;
  size_ += bytes.size();
  if (failure_ != Failure::none || bytes.empty()) return;
  if (fd_ < 0) {
    auto threshold = spool_.limits().memory_threshold;
    if (size_ <= threshold && memory_held_.grow(spool_.memory(), bytes.size())) {
      // Grow by doubling, but never past the threshold: the bytes held are the bytes used.
      if (memory_.capacity() < size_) memory_.reserve(std::min<std::uint64_t>(std::max(2 * memory_.capacity(), size_), threshold));
      memory_.append(bytes);
      return;
    }
    if (!spill()) return;
  }
  if (!spool_.disk().try_take(bytes.size())) {
    fail(ENOSPC);
    return;
  }
  disk_held_ += bytes.size();
  auto at = static_cast<off_t>(prefix_room + offset);
  while (!bytes.empty()) {
    auto n = ::pwrite(fd_, bytes.data(), bytes.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(n < 0 ? errno : EIO);
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    at += n;
  }
}

std::optional<std::string_view> SpooledMessage::view() {
  if (failure_ != Failure::none) return std::nullopt;
  if (fd_ < 0) return std::string_view(memory_);
  if (!map_) {
    map_len_ = prefix_room + size_;
    void* p = ::mmap(nullptr, map_len_, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
      fail(errno);
      return std::nullopt;
    }
    map_ = static_cast<char*>(p);
  }
  return std::string_view(map_ + prefix_room, size_);
}

std::optional<std::string_view> SpooledMessage::prepend(std::string_view prefix) {
  if (failure_ != Failure::none || prefix.size() > prefix_room) return std::nullopt;
  if (fd_ < 0) {
    memory_.insert(0, prefix);
    return std::string_view(memory_);
  }
  if (!view()) return std::nullopt;
  // The map is shared with the file: what is written here shows through it.
  auto at = prefix_room - prefix.size();
  if (::pwrite(fd_, prefix.data(), prefix.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(prefix.size())) {
    fail(errno ? errno : EIO);
    return std::nullopt;
  }
  return std::string_view(map_ + at, prefix.size() + size_);
}

}  // namespace mailstead::smtp

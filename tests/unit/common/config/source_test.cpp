#include "config/source.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "../../test_support.hpp"
#include "config/core_settings.hpp"

namespace mailstead::config {

TEST(Config, DefaultsWithoutAFile) {
  auto src = Source::load("");
  auto core = load_core(src);
  EXPECT_EQ(core.hostname, "localhost");
  EXPECT_EQ(core.data_dir, "./var");
  EXPECT_EQ(core.routing.recipient_delimiter, "+");
  EXPECT_EQ(core.store_dir(), "./var/store");
  EXPECT_NO_THROW(src.check_unknown());
}

TEST(Config, ReadsTypedValues) {
  auto src = Source::from_string(R"(
hostname = "mail.example.test"
data_dir = "/srv/mail"
[store]
map_size = "2G"
max_readers = 512
[auth]
verified_cache_ttl = "90s"
[dns]
nameservers = ["127.0.0.1:5353"]
)");
  auto core = load_core(src);
  EXPECT_EQ(core.hostname, "mail.example.test");
  EXPECT_EQ(core.store.map_size, 2ull << 30);
  EXPECT_EQ(core.store.max_readers, 512u);
  EXPECT_EQ(core.auth.verified_cache_ttl, std::chrono::seconds(90));
  ASSERT_EQ(core.dns.nameservers.size(), 1u);
  EXPECT_NO_THROW(src.check_unknown());
}

void expect_error(const std::string& toml, const std::string& fragment) {
  try {
    auto src = Source::from_string(toml, "test.toml");
    load_core(src);
    src.check_unknown();
    FAIL() << "no error for: " << toml;
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("test.toml"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

TEST(Config, ErrorsNameTheFileTheKeyAndWhy) {
  expect_error("hostnme = \"x\"", "'hostnme': unknown key");
  expect_error("[store]\nmap_sise = 5", "'store.map_sise': unknown key");
  expect_error("[store]\nmax_readers = \"many\"", "'store.max_readers': expected a whole number");
  expect_error("[store]\nmax_readers = 1", "'store.max_readers': must be between 16");
  expect_error("[store]\nmap_size = \"12Q\"", "'store.map_size': expected a size");
  expect_error("[log]\nlevel = \"loud\"", "'log.level': must be one of");
  expect_error("[tls]\nmin_version = \"1.0\"", "'tls.min_version'");
  expect_error("[routing]\nrecipient_delimiter = \"#\"", "'routing.recipient_delimiter'");
  expect_error("hostname = 5", "'hostname': expected a string");
  expect_error("hostname = \"a\"\nhostname = \"b\"", "");  // TOML syntax: duplicate key
}

TEST(Config, FailedLoginLimitsAreSharedAuthKeys) {
  auto src = Source::from_string(R"(
[auth]
max_failures_per_ip = 5
max_failures_per_account = 7
failure_window = "10m"
failure_delay = "250ms"
account_delay = "3s"
trusted_login_ttl = "7d"
trusted_login_entries = 500
failure_entries = 1000
)");
  auto core = load_core(src);
  EXPECT_EQ(core.auth.max_failures_per_ip, 5u);
  EXPECT_EQ(core.auth.max_failures_per_account, 7u);
  EXPECT_EQ(core.auth.failure_window, std::chrono::minutes(10));
  EXPECT_EQ(core.auth.failure_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(core.auth.account_delay, std::chrono::seconds(3));
  EXPECT_EQ(core.auth.trusted_login_ttl, std::chrono::hours(7 * 24));
  EXPECT_EQ(core.auth.trusted_login_entries, 500u);
  EXPECT_EQ(core.auth.failure_entries, 1000u);
  EXPECT_NO_THROW(src.check_unknown());
  auto defaults = Source::from_string("");
  EXPECT_EQ(load_core(defaults).auth.trusted_login_ttl, std::chrono::hours(30 * 24));
  expect_error("[auth]\nmax_failures_per_ip = 0", "'auth.max_failures_per_ip': must be between 1");
  expect_error("[auth]\nfailure_window = \"10ms\"", "'auth.failure_window': must be at least 1s");
}

TEST(Config, FailedLoginKeysOfAServiceSayWhereTheyMoved) {
  struct {
    std::uint32_t threads = 0, max_errors = 0, max_connections = 0, max_connections_per_ip = 0;
  } s;
  auto src = Source::from_string("[imapd]\nauth_max_failures_per_ip = 3\n", "t.toml");
  try {
    get_protocol_limits(src, "imapd", s);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'imapd.auth_max_failures_per_ip': moved to [auth] max_failures_per_ip"),
              std::string::npos)
        << e.what();
  }
}

TEST(Config, ServiceSectionsAreLeftToTheirService) {
  auto src = Source::from_string("[smtpd]\nmx_listen = [\"0.0.0.0:25\"]\n", "t.toml");
  load_core(src);
  EXPECT_THROW(src.check_unknown(), ConfigError);
  EXPECT_NO_THROW(src.check_unknown({"smtpd"}));
}

TEST(Config, ListenersAreChecked) {
  auto src = Source::from_string("[x]\nl = [\"127.0.0.1:25\", \"[::1]:587\"]\nbad = [\"nohost\"]\n", "t.toml");
  std::vector<std::string> l;
  src.get_listeners("x", "l", l);
  EXPECT_EQ(l.size(), 2u);
  EXPECT_THROW(src.get_listeners("x", "bad", l), ConfigError);
  std::string h;
  std::uint16_t p = 0;
  EXPECT_TRUE(split_host_port("[::1]:587", h, p));
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 587);
  EXPECT_FALSE(split_host_port("host:99999", h, p));
}

TEST(Config, SpamSection) {
  auto src = Source::from_string(R"(
[spam]
address = "/run/spamd.sock"
timeout = "3s"
max_size = "1M"
junk_threshold = 4.5
reject_threshold = 12
scan_submission = true
learn = false
)");
  auto core = load_core(src);
  EXPECT_EQ(core.spam.address, "/run/spamd.sock");
  EXPECT_EQ(core.spam.timeout, std::chrono::seconds(3));
  EXPECT_EQ(core.spam.max_size, 1u << 20);
  EXPECT_DOUBLE_EQ(core.spam.junk_threshold, 4.5);
  EXPECT_DOUBLE_EQ(core.spam.reject_threshold, 12.0);
  EXPECT_TRUE(core.spam.scan_submission);
  EXPECT_FALSE(core.spam.learn);
  EXPECT_NO_THROW(src.check_unknown());
  auto defaults = Source::from_string("[spamd]\naddress = \"spamd:783\"\n");  // the older key
  auto d = load_core(defaults);
  EXPECT_EQ(d.spam.address, "spamd:783");
  EXPECT_TRUE(d.spam.enabled);
  EXPECT_DOUBLE_EQ(d.spam.junk_threshold, 5.0);
  EXPECT_DOUBLE_EQ(d.spam.reject_threshold, 15.0);
  EXPECT_EQ(d.spam.max_size, 512u * 1024);
  expect_error("[spam]\naddress = \"spamd\"", "'spam.address': 'spamd' is neither host:port");
  expect_error("[spam]\njunk_threshold = \"five\"", "'spam.junk_threshold': expected a number");
  expect_error("[spam]\njunk_threshold = 9\nreject_threshold = 8", "'spam.reject_threshold': must not be below");
  expect_error("[spam]\ntimeout = 0", "'spam.timeout'");
  expect_error("[spam]\nlearn_lease = \"10s\"", "'spam.learn_lease'");
  ::setenv("MAILSTEAD_SPAM_JUNK_THRESHOLD", "3.5", 1);
  auto env = Source::from_string("");
  auto e = load_core(env);
  ::unsetenv("MAILSTEAD_SPAM_JUNK_THRESHOLD");
  EXPECT_DOUBLE_EQ(e.spam.junk_threshold, 3.5);
}

TEST(Config, EnvironmentOverridesTheFile) {
  ::setenv("MAILSTEAD_HOSTNAME", "env.example.test", 1);
  ::setenv("MAILSTEAD_STORE_MAX_READERS", "999", 1);
  auto src = Source::from_string("hostname = \"file.example.test\"\n");
  auto core = load_core(src);
  ::unsetenv("MAILSTEAD_HOSTNAME");
  ::unsetenv("MAILSTEAD_STORE_MAX_READERS");
  EXPECT_EQ(core.hostname, "env.example.test");
  EXPECT_EQ(core.store.max_readers, 999u);

  ::setenv("MAILSTEAD_STORE_MAX_READERS", "lots", 1);
  auto src2 = Source::from_string("");
  EXPECT_THROW(load_core(src2), ConfigError);
  ::unsetenv("MAILSTEAD_STORE_MAX_READERS");
}

TEST(Config, SecretsComeFromTheirOwnFile) {
  testing::TempDir dir;
  auto secrets = dir.path() + "/secrets.toml";
  std::ofstream(secrets) << "[relay]\npassword = \"s3cret\"\n";
  ::chmod(secrets.c_str(), 0600);
  auto main = dir.path() + "/mailstead.toml";
  std::ofstream(main) << "secrets_file = \"" << secrets << "\"\n";
  auto src = Source::load(main);
  auto core = load_core(src);
  EXPECT_EQ(core.secrets.relay_password, "s3cret");
  EXPECT_NO_THROW(src.check_unknown());

  std::ofstream(secrets) << "[relay]\npasword = \"typo\"\n";
  auto src2 = Source::load(main);
  load_core(src2);
  EXPECT_THROW(src2.check_unknown(), ConfigError);
}

TEST(Config, DkimSrsAndTheirSecrets) {
  auto defaults = Source::from_string("");
  auto d = load_core(defaults);
  EXPECT_EQ(d.dkim.rotate_grace, std::chrono::hours(24 * 7));
  EXPECT_EQ(d.srs.max_age_days, 21u);
  auto src = Source::from_string("[dkim]\nrotate_grace = \"2d\"\n[srs]\nmax_age_days = 30\n");
  auto core = load_core(src);
  EXPECT_EQ(core.dkim.rotate_grace, std::chrono::hours(48));
  EXPECT_EQ(core.srs.max_age_days, 30u);
  EXPECT_NO_THROW(src.check_unknown());
  expect_error("[srs]\nmax_age_days = 0", "'srs.max_age_days'");
  expect_error("[dkim]\nrotate_grace = \"a week\"", "'dkim.rotate_grace'");

  testing::TempDir dir;
  auto secrets = dir.path() + "/secrets.toml";
  auto main = dir.path() + "/mailstead.toml";
  std::ofstream(main) << "secrets_file = \"" << secrets << "\"\n";
  std::ofstream(secrets) << "[relay]\nkey = \"0123456789abcdef\"\n[srs]\nsecret = \"srs secret of length\"\n"
                         << "old_secret = \"the old srs secret\"\n";
  ::chmod(secrets.c_str(), 0600);
  auto ok = Source::load(main);
  auto s = load_core(ok);
  EXPECT_EQ(s.secrets.relay_key, "0123456789abcdef");
  EXPECT_EQ(s.secrets.srs_secret, "srs secret of length");
  EXPECT_EQ(s.secrets.srs_old_secret, "the old srs secret");
  EXPECT_NO_THROW(ok.check_unknown());
  for (const char* bad : {"[relay]\nkey = \"short\"\n", "[srs]\nsecret = \"short\"\n",
                          "[srs]\nold_secret = \"only the old one, long enough\"\n"}) {
    std::ofstream(secrets) << bad;
    auto src2 = Source::load(main);
    try {
      load_core(src2);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const ConfigError& e) {
      EXPECT_EQ(std::string(e.what()).find("short"), std::string::npos) << "the secret is not repeated";
    }
  }
}

TEST(Config, SecretsFileReadableByOthersIsRefused) {
  testing::TempDir dir;
  auto secrets = dir.path() + "/secrets.toml";
  std::ofstream(secrets) << "[relay]\npassword = \"s3cret\"\n";
  auto main = dir.path() + "/mailstead.toml";
  std::ofstream(main) << "secrets_file = \"" << secrets << "\"\n";
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    ::chmod(secrets.c_str(), mode);
    try {
      Source::load(main);
      ADD_FAILURE() << "mode " << std::oct << mode << " was accepted";
    } catch (const ConfigError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(secrets), std::string::npos) << what;
      char text[8];
      std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode));
      EXPECT_NE(what.find(text), std::string::npos) << what;
    }
  }
  ::chmod(secrets.c_str(), 0400);
  EXPECT_NO_THROW(Source::load(main));
}

TEST(Config, ParseSize) {
  std::uint64_t n = 0;
  EXPECT_TRUE(parse_size("25M", n));
  EXPECT_EQ(n, 25u << 20);
  EXPECT_TRUE(parse_size("1024", n));
  EXPECT_EQ(n, 1024u);
  EXPECT_FALSE(parse_size("", n));
  EXPECT_FALSE(parse_size("-1", n));
  EXPECT_FALSE(parse_size("99999999999999999999G", n));
}

}  // namespace mailstead::config

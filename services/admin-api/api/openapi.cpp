// The OpenAPI 3.1 document: paths generated from the route table (so every route is
// listed, with who may call it and its body), schemas written here. The integration test
// test_admin_openapi calls every route listed and checks each answer against it.
#include "api/handlers.hpp"

namespace mailstead::api {

namespace {

// clang-format off
constexpr const char* schemas = R"json({
  "Error": {"type": "object", "additionalProperties": false, "required": ["error"], "properties": {
    "error": {"type": "object", "additionalProperties": false, "required": ["code", "message", "field"], "properties": {
      "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
  "Health": {"type": "object", "additionalProperties": false, "required": ["status"], "properties": {"status": {"const": "ok"}}},
  "Status": {"type": "object", "additionalProperties": false,
    "required": ["hostname", "domains", "users", "aliases", "groups", "admins", "queue", "store_map_size", "built"],
    "properties": {"hostname": {"type": "string"}, "domains": {"type": "integer"}, "users": {"type": "integer"},
      "aliases": {"type": "integer"}, "groups": {"type": "integer"}, "admins": {"type": "integer"},
      "queue": {"type": "integer"}, "store_map_size": {"type": "integer"},
      "built": {"type": "object", "additionalProperties": {"type": "boolean"}}}},
  "Login": {"type": "object", "additionalProperties": false, "required": ["address", "password"],
    "properties": {"address": {"type": "string"}, "password": {"type": "string"}}},
  "Session": {"type": "object", "additionalProperties": false, "required": ["address", "admin", "csrf_token", "expires", "id"],
    "properties": {"address": {"type": "string"}, "admin": {"type": "boolean"}, "csrf_token": {"type": "string"},
      "expires": {"type": "string"}, "id": {"type": "string"}}},
  "SessionInfo": {"type": "object", "additionalProperties": false,
    "required": ["id", "address", "created", "expires", "peer", "agent", "current"],
    "properties": {"id": {"type": "string"}, "address": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
      "expires": {"type": "string", "format": "date-time"}, "peer": {"type": "string"}, "agent": {"type": "string"},
      "current": {"type": "boolean"}}},
  "Token": {"type": "object", "additionalProperties": false, "required": ["id", "name", "created"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "created": {"type": "string", "format": "date-time"}}},
  "NewToken": {"type": "object", "additionalProperties": false, "required": ["id", "name", "created", "token"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "created": {"type": "string"},
      "token": {"type": "string", "pattern": "^mst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$"}}},
  "TokenNew": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string"}}},
  "Admin": {"type": "object", "additionalProperties": false, "required": ["address"], "properties": {"address": {"type": "string"}}},
  "Domain": {"type": "object", "additionalProperties": false, "required": ["domain", "created", "catchall"],
    "properties": {"domain": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
      "catchall": {"type": "array", "items": {"type": "string"}}}},
  "DomainNew": {"type": "object", "additionalProperties": false, "required": ["domain"], "properties": {"domain": {"type": "string"}}},
  "User": {"type": "object", "additionalProperties": false,
    "required": ["address", "name", "quota", "used", "messages", "enabled", "admin", "aliases", "allowed_senders", "created"],
    "properties": {"address": {"type": "string"}, "name": {"type": "string"},
      "quota": {"type": "integer", "description": "bytes; 0: no quota"}, "used": {"type": "integer"},
      "messages": {"type": "integer"}, "enabled": {"type": "boolean"}, "admin": {"type": "boolean"},
      "aliases": {"type": "array", "items": {"type": "string"}},
      "allowed_senders": {"type": "array", "items": {"type": "string"}},
      "created": {"type": "string", "format": "date-time"}}},
  "UserNew": {"type": "object", "additionalProperties": false, "required": ["address", "password"],
    "properties": {"address": {"type": "string"}, "password": {"type": "string"}, "name": {"type": "string"},
      "quota": {"type": "integer", "minimum": 0}}},
  "UserPatch": {"type": "object", "additionalProperties": false,
    "properties": {"name": {"type": "string"}, "quota": {"type": "integer", "minimum": 0}, "enabled": {"type": "boolean"}}},
  "PasswordSet": {"type": "object", "additionalProperties": false, "required": ["password"], "properties": {"password": {"type": "string"}}},
  "PasswordChange": {"type": "object", "additionalProperties": false, "required": ["current_password", "new_password"],
    "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}},
  "SenderNew": {"type": "object", "additionalProperties": false, "required": ["sender"], "properties": {"sender": {"type": "string"}}},
  "AppPassword": {"type": "object", "additionalProperties": false, "required": ["id", "name", "created"],
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "created": {"type": "string", "format": "date-time"}}},
  "NewAppPassword": {"type": "object", "additionalProperties": false, "required": ["id", "name", "created", "password"],
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "created": {"type": "string"},
      "password": {"type": "string", "pattern": "^[a-z2-9]{4}(-[a-z2-9]{4}){4}$"}}},
  "AppPasswordNew": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string"}}},
  "Mailbox": {"type": "object", "additionalProperties": false,
    "required": ["name", "special_use", "subscribed", "messages", "unseen", "bytes", "uidvalidity", "uidnext", "highestmodseq"],
    "properties": {"name": {"type": "string"}, "special_use": {"type": "string"}, "subscribed": {"type": "boolean"},
      "messages": {"type": "integer"}, "unseen": {"type": "integer"}, "bytes": {"type": "integer"},
      "uidvalidity": {"type": "integer"}, "uidnext": {"type": "integer"}, "highestmodseq": {"type": "integer"}}},
  "Message": {"type": "object", "additionalProperties": false,
    "required": ["uid", "size", "flags", "keywords", "modseq", "internaldate", "envelope"],
    "properties": {"uid": {"type": "integer"}, "size": {"type": "integer"}, "flags": {"type": "integer"},
      "keywords": {"type": "array", "items": {"type": "string"}}, "modseq": {"type": "integer"},
      "internaldate": {"type": "string", "format": "date-time"}, "envelope": {"type": "string"}}},
  "Script": {"type": "object", "additionalProperties": false, "required": ["name", "active", "size"],
    "properties": {"name": {"type": "string"}, "active": {"type": "boolean"}, "size": {"type": "integer"}}},
  "ScriptText": {"type": "object", "additionalProperties": false, "required": ["name", "script"],
    "properties": {"name": {"type": "string"}, "script": {"type": "string"}}},
  "ScriptPut": {"type": "object", "additionalProperties": false, "required": ["script"], "properties": {"script": {"type": "string"}}},
  "ScriptActivate": {"type": "object", "additionalProperties": false, "required": ["name"], "properties": {"name": {"type": "string"}}},
  "Warnings": {"type": "object", "additionalProperties": false, "required": ["warnings"],
    "properties": {"warnings": {"type": "array", "items": {"type": "string"}}}},
  "Alias": {"type": "object", "additionalProperties": false, "required": ["alias", "user"],
    "properties": {"alias": {"type": "string"}, "user": {"type": "string"}}},
  "AliasNew": {"type": "object", "additionalProperties": false, "required": ["alias", "user"],
    "properties": {"alias": {"type": "string"}, "user": {"type": "string"}}},
  "Group": {"type": "object", "additionalProperties": false, "required": ["group", "policy", "members", "created"],
    "properties": {"group": {"type": "string"}, "policy": {"enum": ["anyone", "members", "domain"]},
      "members": {"type": "array", "items": {"type": "string"}}, "created": {"type": "string", "format": "date-time"}}},
  "GroupNew": {"type": "object", "additionalProperties": false, "required": ["group"],
    "properties": {"group": {"type": "string"}, "members": {"type": "array", "items": {"type": "string"}},
      "policy": {"enum": ["anyone", "members", "domain"]}}},
  "GroupPatch": {"type": "object", "additionalProperties": false, "required": ["policy"],
    "properties": {"policy": {"enum": ["anyone", "members", "domain"]}}},
  "MemberNew": {"type": "object", "additionalProperties": false, "required": ["member"], "properties": {"member": {"type": "string"}}},
  "Stream": {"type": "object", "additionalProperties": false,
    "required": ["stream_id", "slug", "name", "description", "enabled", "members", "email_posting", "unauthenticated", "email_address", "created"],
    "properties": {"stream_id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
      "description": {"type": "string"}, "enabled": {"type": "boolean"}, "members": {"type": "array", "items": {"type": "string"}},
      "email_posting": {"enum": ["anyone", "local", "members", "nobody"]},
      "unauthenticated": {"enum": ["bot", "refuse"], "description": "email not proved to be from a local user: posted by the gateway bot, or refused"},
      "email_address": {"type": "string", "description": "<slug>.<token>@<gateway domain>; empty when [streams] gateway_pattern is unset"},
      "created": {"type": "string", "format": "date-time"}}},
  "List": {"type": "object", "additionalProperties": false, "required": ["name", "pattern", "templates", "site_domain", "created"],
    "properties": {"name": {"type": "string"}, "pattern": {"type": "string", "description": "RE2 over the lower-cased recipient without its tag; named captures (?<name>…)"},
      "templates": {"type": "array", "items": {"type": "string"}, "description": "member addresses with {capture} placeholders"},
      "site_domain": {"type": "string"}, "created": {"type": "string", "format": "date-time"}}},
  "ListNew": {"type": "object", "additionalProperties": false, "required": ["name", "pattern", "templates"],
    "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}, "pattern": {"type": "string"},
      "templates": {"type": "array", "items": {"type": "string"}, "minItems": 1},
      "site_domain": {"type": "string", "description": "default: [lists] site_domain"}}},
  "ExternalAddress": {"type": "string", "description": "an address at a domain that is not local"},
  "ExternalNew": {"type": "object", "additionalProperties": false, "required": ["external"], "properties": {"external": {"type": "string"}}},
  "StreamNew": {"type": "object", "additionalProperties": false, "required": ["name"],
    "properties": {"name": {"type": "string"}, "slug": {"type": "string", "pattern": "^[A-Za-z0-9_ -]{1,64}$"},
      "description": {"type": "string"}, "email_posting": {"enum": ["anyone", "local", "members", "nobody"]}}},
  "StreamPatch": {"type": "object", "additionalProperties": false,
    "properties": {"enabled": {"type": "boolean"}, "email_posting": {"enum": ["anyone", "local", "members", "nobody"]},
      "unauthenticated": {"enum": ["bot", "refuse"]}}},
  "MemberNotifications": {"type": "object", "additionalProperties": false, "required": ["member", "notify", "watching_until"],
    "properties": {"member": {"type": "string"}, "notify": {"enum": ["all", "none"]},
      "watching_until": {"type": "integer", "description": "seconds since the epoch; 0 when not watching"}}},
  "NotificationsPut": {"type": "object", "additionalProperties": false, "required": ["notify"],
    "properties": {"notify": {"enum": ["all", "none"]}, "member": {"type": "string", "description": "administrators only"}}},
  "WatchPost": {"type": "object", "additionalProperties": false, "required": ["seconds"],
    "properties": {"seconds": {"type": "integer", "minimum": 0, "maximum": 86400}, "member": {"type": "string", "description": "administrators only"}}},
  "Topic": {"type": "object", "additionalProperties": false, "required": ["name", "messages", "max_id"],
    "properties": {"name": {"type": "string"}, "messages": {"type": "integer"}, "max_id": {"type": "integer"}}},
  "StreamMessage": {"type": "object", "additionalProperties": false,
    "required": ["id", "stream", "topic", "sender_id", "sender_email", "sender_full_name", "email_from", "content", "attachments", "via", "timestamp"],
    "properties": {"id": {"type": "integer"}, "stream": {"type": "string"}, "topic": {"type": "string"},
      "sender_id": {"type": "integer", "description": "the local user; 0 for the gateway bot or an administrator"},
      "sender_email": {"type": "string"}, "sender_full_name": {"type": "string"},
      "email_from": {"type": "string", "description": "the From address of the email it came from, or empty"},
      "content": {"type": "string"}, "via": {"enum": ["email", "cli", "api"]}, "timestamp": {"type": "integer"},
      "attachments": {"type": "array", "items": {"type": "object", "additionalProperties": false,
        "required": ["name", "content_type", "size", "url"],
        "properties": {"name": {"type": "string"}, "content_type": {"type": "string"}, "size": {"type": "integer"}, "url": {"type": "string"}}}}}},
  "StreamMessageNew": {"type": "object", "additionalProperties": false, "required": ["topic", "content"],
    "properties": {"topic": {"type": "string"}, "content": {"type": "string"}}},
  "ChatMessageNew": {"type": "object", "additionalProperties": false, "required": ["type", "to", "topic", "content"],
    "properties": {"type": {"enum": ["stream", "channel"]}, "to": {"type": "string", "description": "the stream's slug"},
      "topic": {"type": "string"}, "content": {"type": "string"}}},
  "StreamForwardJob": {"type": "object", "additionalProperties": false,
    "required": ["message_id", "attempts", "created", "next_attempt", "last_error", "failed_at", "sending"],
    "properties": {"message_id": {"type": "integer"}, "attempts": {"type": "integer"},
      "created": {"type": "integer", "description": "seconds since 1970: when the message was posted (or retried)"},
      "next_attempt": {"type": "integer", "description": "seconds since 1970"}, "last_error": {"type": "string"},
      "failed_at": {"type": "integer", "description": "seconds since 1970; 0 while pending"},
      "sending": {"type": "boolean", "description": "a deliverd instance holds it now"}}},
  "StreamForward": {"type": "object", "additionalProperties": false,
    "required": ["id", "kind", "url", "allow_http", "created", "pending", "failed", "next", "failures"],
    "properties": {"id": {"type": "integer"}, "kind": {"enum": ["zulip", "webhook"]},
      "url": {"type": "string", "description": "the Zulip site, or the webhook URL cut after its host (the rest is secret)"},
      "allow_http": {"type": "boolean"}, "created": {"type": "integer"},
      "bot_email": {"type": "string"}, "api_key": {"type": "string", "description": "a hint: the key's last 4 characters"},
      "stream": {"type": "string", "description": "the Zulip stream; empty: this stream's name"},
      "pending": {"type": "integer"}, "failed": {"type": "integer"},
      "next": {"oneOf": [{"$ref": "#/components/schemas/StreamForwardJob"}, {"type": "null"}]},
      "failures": {"type": "array", "items": {"$ref": "#/components/schemas/StreamForwardJob"}, "description": "the most recent failed jobs, newest first"}}},
  "StreamForwardNew": {"type": "object", "additionalProperties": false, "required": ["kind"],
    "properties": {"kind": {"enum": ["zulip", "webhook"]},
      "site": {"type": "string", "description": "zulip: https://chat.example.org"},
      "bot_email": {"type": "string", "description": "zulip: the bot's email (HTTP Basic user)"},
      "api_key": {"type": "string", "writeOnly": true, "description": "zulip: the bot's API key; never answered"},
      "stream": {"type": "string", "description": "zulip: the stream there (default: this stream's name)"},
      "url": {"type": "string", "writeOnly": true, "description": "webhook: the incoming webhook URL; never answered in full"},
      "allow_http": {"type": "boolean", "description": "allow plain http:// (a receiver on this machine)"}}},
  "StreamForwardRetried": {"type": "object", "additionalProperties": false, "required": ["retried"],
    "properties": {"retried": {"type": "integer"}}},
  "StreamMessageId": {"type": "object", "additionalProperties": false, "required": ["id"], "properties": {"id": {"type": "integer"}}},
  "Catchall": {"type": "object", "additionalProperties": false, "required": ["domain", "users"],
    "properties": {"domain": {"type": "string"}, "users": {"type": "array", "items": {"type": "string"}}}},
  "CatchallSet": {"type": "object", "additionalProperties": false, "required": ["users"],
    "properties": {"users": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
  "Resolution": {"type": "object", "additionalProperties": false, "required": ["action"],
    "properties": {"action": {"enum": ["deliver", "reject"]}, "kind": {"type": "string"}, "address": {"type": "string"},
      "tag": {"type": "string"}, "mailboxes": {"type": "array", "items": {"type": "string"}}, "stream": {"type": "string"},
      "list": {"type": "string", "description": "the pattern-matched list (kind list; docs/lists.md)"},
      "code": {"type": "integer"}, "enhanced": {"type": "string"}, "text": {"type": "string"}}},
  "QueueItem": {"type": "object", "additionalProperties": false,
    "required": ["id", "sender", "recipients", "authenticated_user", "created", "next_attempt", "attempts", "last_error"],
    "properties": {"id": {"type": "integer"}, "sender": {"type": "string"}, "recipients": {"type": "array", "items": {"type": "string"}},
      "authenticated_user": {"type": "string"}, "created": {"type": "string"}, "next_attempt": {"type": "string"},
      "attempts": {"type": "integer"}, "last_error": {"type": "string"},
      "leased_by": {"type": "string", "description": "the delivery instance working on it now, or empty"},
      "bounce": {"type": "boolean", "description": "a DSN or auto-reply: never causes a DSN"},
      "states": {"type": "array", "items": {"$ref": "#/components/schemas/QueueRecipient"}}}},
  "QueueRecipient": {"type": "object", "additionalProperties": false,
    "required": ["address", "state", "attempts", "next_attempt", "last_attempt", "last_reply", "remote"],
    "properties": {"address": {"type": "string"}, "state": {"enum": ["pending", "deferred", "delivered", "failed"]},
      "attempts": {"type": "integer"}, "next_attempt": {"type": "string", "description": "date-time, empty when final"},
      "last_attempt": {"type": "string"}, "last_reply": {"type": "string"}, "remote": {"type": "string"}}},
  "QueueRetried": {"type": "object", "additionalProperties": false, "required": ["due"],
    "properties": {"due": {"type": "integer", "description": "how many messages are due now"}}},
  "SendLogEntry": {"type": "object", "additionalProperties": false,
    "required": ["time", "queue_id", "sender", "recipient", "remote", "tls", "reply", "result"],
    "properties": {"time": {"type": "string", "format": "date-time"}, "queue_id": {"type": "integer"},
      "sender": {"type": "string"}, "recipient": {"type": "string"}, "remote": {"type": "string"},
      "tls": {"type": "string"}, "reply": {"type": "string"}, "result": {"enum": ["delivered", "deferred", "failed"]},
      "security": {"type": "string", "description": "the TLS policy that applied: dane, mta-sts enforce/testing id=…, or empty"}}},
  "DkimKey": {"type": "object", "additionalProperties": false,
    "required": ["domain", "selector", "algorithm", "state", "created", "retire_at", "dns_name", "txt", "zone"],
    "properties": {"domain": {"type": "string"}, "selector": {"type": "string"}, "algorithm": {"enum": ["rsa", "ed25519"]},
      "state": {"enum": ["active", "retired"]}, "created": {"type": "string", "format": "date-time"},
      "retire_at": {"type": "string", "description": "retired keys: keep published until then; empty for active"},
      "dns_name": {"type": "string"}, "txt": {"type": "string", "description": "the TXT record's value"},
      "zone": {"type": "string", "description": "a zone-file line, split into 255-byte strings"}}},
  "DkimNew": {"type": "object", "additionalProperties": false,
    "properties": {"selector": {"type": "string"}, "algorithm": {"enum": ["rsa", "ed25519"]}}},
  "InboundRule": {"type": "object", "additionalProperties": false,
    "required": ["list", "kind", "value", "user", "note", "created"],
    "properties": {"list": {"enum": ["block", "allow"]}, "kind": {"enum": ["ip", "domain", "address"]},
      "value": {"type": "string", "description": "canonical: 198.51.100.0/24, example.org, user@example.org"},
      "user": {"type": "string", "description": "the user whose own list it is; empty for the global list"},
      "note": {"type": "string"}, "created": {"type": "string", "format": "date-time"}}},
  "InboundRuleNew": {"type": "object", "additionalProperties": false, "required": ["list", "value"],
    "properties": {"list": {"enum": ["block", "allow"]}, "value": {"type": "string"},
      "user": {"type": "string"}, "note": {"type": "string", "maxLength": 200}}},
  "DmarcOverride": {"type": "object", "additionalProperties": false, "required": ["domain", "action"],
    "properties": {"domain": {"type": "string", "description": "the From domain as stored (lower case, IDNA); covers its subdomains"},
      "action": {"enum": ["none", "quarantine", "reject", "ignore"]}}},
  "DmarcOverrideSet": {"type": "object", "additionalProperties": false, "required": ["action"],
    "properties": {"action": {"enum": ["none", "quarantine", "reject", "ignore"],
      "description": "none: deliver; quarantine: Junk on failure; reject: 550 on failure; ignore: no DMARC check"}}},
  "Policy": {"type": "object", "additionalProperties": false,
    "required": ["dnsbl", "greylist", "connection_rate_per_ip_per_minute", "max_connections_per_ip", "iprev_policy",
      "helo_policy", "trusted_clients", "dns_nameservers", "allowlist", "blocklist", "dmarc", "spam"],
    "properties": {
      "dnsbl": {"type": "object", "additionalProperties": false,
        "required": ["enabled", "zones", "threshold", "timeout_ms", "exempt_recipients"],
        "properties": {"enabled": {"type": "boolean"},
          "zones": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["zone", "weight"],
            "properties": {"zone": {"type": "string"}, "weight": {"type": "integer"}}}},
          "threshold": {"type": "integer"}, "timeout_ms": {"type": "integer"},
          "exempt_recipients": {"type": "array", "items": {"type": "string"}}}},
      "greylist": {"type": "object", "additionalProperties": false,
        "required": ["enabled", "delay_seconds", "retry_window_seconds", "expiry_seconds", "triplets"],
        "properties": {"enabled": {"type": "boolean"}, "delay_seconds": {"type": "integer"},
          "retry_window_seconds": {"type": "integer"}, "expiry_seconds": {"type": "integer"}, "triplets": {"type": "integer"}}},
      "connection_rate_per_ip_per_minute": {"type": "integer", "description": "0: no limit"},
      "max_connections_per_ip": {"type": "integer"},
      "iprev_policy": {"enum": ["record", "reject"]}, "helo_policy": {"enum": ["record"]},
      "trusted_clients": {"type": "array", "items": {"type": "string"}},
      "dns_nameservers": {"type": "array", "items": {"type": "string"}},
      "allowlist": {"type": "array", "items": {"$ref": "#/components/schemas/InboundRule"}},
      "blocklist": {"type": "array", "items": {"$ref": "#/components/schemas/InboundRule"}},
      "dmarc": {"type": "object", "additionalProperties": false,
        "required": ["enabled", "authserv_id", "reject_action", "quarantine_action", "temperror_action", "timeout_ms", "spf",
          "dkim_verify", "arc", "overrides"],
        "properties": {"enabled": {"type": "boolean"}, "authserv_id": {"type": "string"},
          "reject_action": {"enum": ["none", "quarantine", "reject"]}, "quarantine_action": {"enum": ["none", "quarantine", "reject"]},
          "temperror_action": {"enum": ["defer", "policy"]}, "timeout_ms": {"type": "integer"},
          "spf": {"type": "object", "additionalProperties": false, "required": ["enabled", "helo", "timeout_ms"],
            "properties": {"enabled": {"type": "boolean"}, "helo": {"type": "boolean"}, "timeout_ms": {"type": "integer"}}},
          "dkim_verify": {"type": "object", "additionalProperties": false, "required": ["enabled", "max_signatures", "timeout_ms"],
            "properties": {"enabled": {"type": "boolean"}, "max_signatures": {"type": "integer"}, "timeout_ms": {"type": "integer"}}},
          "arc": {"const": "not verified", "description": "ARC (RFC 8617) chains are neither verified nor sealed (docs/authentication.md)"},
          "overrides": {"type": "array", "items": {"$ref": "#/components/schemas/DmarcOverride"}}}},
      "spam": {"type": "object", "additionalProperties": false,
        "required": ["enabled", "junk_threshold", "reject_threshold", "max_size", "timeout_ms", "scan_submission", "learn"],
        "properties": {"enabled": {"type": "boolean"}, "junk_threshold": {"type": "number"}, "reject_threshold": {"type": "number"},
          "max_size": {"type": "integer"}, "timeout_ms": {"type": "integer"}, "scan_submission": {"type": "boolean"},
          "learn": {"type": "boolean"}}}}},
  "Relay": {"type": "object", "additionalProperties": false,
    "required": ["domain", "host", "port", "security", "user", "password", "preset", "updated"],
    "properties": {"domain": {"type": "string", "description": "the sender domain; empty for the default relay"},
      "host": {"type": "string"}, "port": {"type": "integer"}, "security": {"enum": ["starttls", "tls", "none"]},
      "user": {"type": "string"}, "password": {"enum": ["none", "stored", "secrets-file"], "description": "where the password comes from; never the password"},
      "preset": {"type": "string"}, "updated": {"type": "string", "format": "date-time"}}},
  "RelaySaved": {"type": "object", "additionalProperties": false,
    "required": ["domain", "host", "port", "security", "user", "password", "preset", "updated", "warnings"],
    "properties": {"domain": {"type": "string"}, "host": {"type": "string"}, "port": {"type": "integer"},
      "security": {"enum": ["starttls", "tls", "none"]}, "user": {"type": "string"},
      "password": {"enum": ["none", "stored", "secrets-file"]}, "preset": {"type": "string"},
      "updated": {"type": "string", "format": "date-time"}, "warnings": {"type": "array", "items": {"type": "string"}}}},
  "RelaySet": {"type": "object", "additionalProperties": false,
    "properties": {"host": {"type": "string", "description": "HOST or HOST:PORT; may be left out with a preset that names its host"},
      "port": {"type": "integer", "minimum": 1, "maximum": 65535}, "preset": {"type": "string"},
      "security": {"enum": ["starttls", "tls", "none"]}, "user": {"type": "string"},
      "password": {"type": "string", "writeOnly": true, "description": "stored encrypted with [relay] key; never answered"}}},
  "DnsRecord": {"type": "object", "additionalProperties": false, "required": ["kind", "name", "type", "value", "note"],
    "properties": {"kind": {"enum": ["mx", "spf", "dkim", "dmarc", "mta-sts", "tls-rpt", "autoconfig", "autodiscover", "srv", "ptr"]},
      "name": {"type": "string"}, "type": {"enum": ["MX", "TXT", "CNAME", "SRV", "PTR"]},
      "value": {"type": "string", "description": "what to publish, as a zone file writes it"}, "note": {"type": "string"}}},
  "DnsCheck": {"type": "object", "additionalProperties": false,
    "required": ["kind", "name", "type", "value", "note", "status", "found", "error"],
    "properties": {"kind": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
      "value": {"type": "string"}, "note": {"type": "string"},
      "status": {"enum": ["ok", "missing", "mismatch", "error"], "description": "error: the resolver failed (see error)"},
      "found": {"type": "array", "items": {"type": "string"}, "description": "the values found (PTR: address -> names)"},
      "error": {"type": "string"}}},
  "Dashboard": {"type": "object", "additionalProperties": false, "required": ["health", "counts", "queue_depth", "hours", "store"],
    "properties": {
      "health": {"type": "array", "items": {"type": "object", "additionalProperties": false,
        "required": ["service", "state", "started", "last_event"],
        "properties": {"service": {"type": "string"}, "state": {"enum": ["running", "stopped", "unknown"],
          "description": "from the service's log ring: its last start or stop event"},
          "started": {"type": "string"}, "last_event": {"type": "string"}}}},
      "counts": {"type": "object", "additionalProperties": false, "required": ["domains", "users", "aliases", "groups"],
        "properties": {"domains": {"type": "integer"}, "users": {"type": "integer"}, "aliases": {"type": "integer"}, "groups": {"type": "integer"}}},
      "queue_depth": {"type": "integer"},
      "hours": {"type": "array", "minItems": 24, "maxItems": 24, "items": {"type": "object", "additionalProperties": false,
        "required": ["hour", "received", "rejected", "delivered", "deferred", "bounced"],
        "properties": {"hour": {"type": "string", "format": "date-time"}, "received": {"type": "integer"},
          "rejected": {"type": "integer"}, "delivered": {"type": "integer"}, "deferred": {"type": "integer"},
          "bounced": {"type": "integer"}}}},
      "store": {"type": "object", "additionalProperties": false, "required": ["bytes", "map_size", "free_bytes", "disk_bytes"],
        "properties": {"bytes": {"type": "integer"}, "map_size": {"type": "integer"}, "free_bytes": {"type": "integer"},
          "disk_bytes": {"type": "integer"}}}}},
  "LogEvent": {"type": "object", "additionalProperties": false, "required": ["time", "service", "level", "event", "text"],
    "properties": {"time": {"type": "string", "description": "UTC, milliseconds"}, "service": {"type": "string"},
      "level": {"enum": ["trace", "debug", "info", "warn", "error", "critical"]}, "event": {"type": "string"},
      "text": {"type": "string", "description": "the whole event line: event=name key=value …"}}},
  "TestEmail": {"type": "object", "additionalProperties": false, "required": ["to"], "properties": {"to": {"type": "string"}}},
  "TestEmailResult": {"type": "object", "additionalProperties": false,
    "required": ["queue_id", "from", "which", "to", "result", "summary", "route", "tls", "reply"],
    "properties": {"queue_id": {"type": "integer"}, "from": {"type": "string"}, "which": {"type": "string"},
      "to": {"type": "string"}, "result": {"enum": ["delivered", "deferred", "failed"]},
      "summary": {"type": "string", "description": "the result in words"},
      "route": {"type": "string", "description": "the host that answered: relay or MX, with its address"},
      "tls": {"type": "string", "description": "TLS version, empty when none"},
      "reply": {"type": "string", "description": "the receiving server's reply, or why it did not go"}}},
  "RelayPreset": {"type": "object", "additionalProperties": false, "required": ["name", "description", "host", "port", "security", "user"],
    "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "host": {"type": "string"},
      "port": {"type": "integer"}, "security": {"enum": ["starttls", "tls", "none"]}, "user": {"type": "string"}}},
  "Me": {"$ref": "#/components/schemas/User"},
  "Vacation": {"type": "object", "additionalProperties": false, "required": ["enabled", "reason"],
    "properties": {"enabled": {"type": "boolean"}, "subject": {"type": "string"}, "reason": {"type": "string"},
      "from": {"type": "string"}, "addresses": {"type": "array", "items": {"type": "string"}},
      "days": {"type": "integer", "minimum": 0, "maximum": 365}, "start": {"type": "string", "description": "YYYY-MM-DD or empty"},
      "end": {"type": "string"}, "zone": {"type": "string", "pattern": "^[+-][0-9]{4}$"}}},
  "Forward": {"type": "object", "additionalProperties": false, "required": ["enabled", "target"],
    "properties": {"enabled": {"type": "boolean"}, "target": {"type": "string"}, "keep_copy": {"type": "boolean"}}}
})json";
// clang-format on

json::object error_response(const char* why) {
  return {{"description", why},
          {"content", json::object{{"application/json", json::object{{"schema", json::object{{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json::value schema_ref(std::string_view name) {
  if (name.ends_with("[]"))
    return json::object{{"type", "array"},
                        {"items", json::object{{"$ref", "#/components/schemas/" + std::string(name.substr(0, name.size() - 2))}}}};
  return json::object{{"$ref", "#/components/schemas/" + std::string(name)}};
}

json::array query_parameters(std::string_view path) {
  json::array out;
  auto q = [&](const char* name, bool required, const char* what) {
    out.push_back(json::object{{"name", name}, {"in", "query"}, {"required", required}, {"description", what},
                               {"schema", json::object{{"type", "string"}}}});
  };
  if (path == "/api/v1/users") q("q", false, "part of an address or name");
  if (path == "/api/v1/queue/log") {
    q("since", false, "seconds since 1970, 2024-01-02T03:04:05Z, or an age such as 90m, 2h, 7d (422 otherwise)");
    q("limit", false, "the latest this many entries, 1 to 1000 (default 100; 422 otherwise)");
  }
  if (path == "/api/v1/streams/{stream}/live") q("after", false, "send the messages after this id first (a reconnecting page)");
  if (path == "/api/v1/streams/{stream}/messages") {
    q("topic", false, "only this topic (case-insensitive)");
    q("after", false, "only messages with a greater id (422 unless a number)");
    q("limit", false, "at most this many messages, 1 to 5000 (default 1000; 422 otherwise)");
  }
  if (path == "/api/v1/streams/{stream}/notifications")
    q("member", false, "another member's, for an administrator (default: the caller's own; 422 when not a member)");
  if (path == "/api/v1/logs") {
    q("service", false, "smtpd, imapd, sieved, deliverd or admin-api (422 otherwise)");
    q("level", false, "the least level: trace, debug, info, warn or error (422 otherwise)");
    q("text", false, "a case-insensitive substring of the event line (at most 200 characters)");
    q("limit", false, "at most this many events, 1 to 1000 (default 200)");
  }
  if (path == "/api/v1/inbound-rules/{list}/{value}") q("user", false, "the user whose own list it is (default: the global list)");
  if (path == "/api/v1/resolve") {
    q("address", true, "the recipient");
    q("from", false, "the envelope sender");
    q("authenticated_as", false, "the submitting user");
  }
  return out;
}

}  // namespace

std::string openapi_document() {
  static const std::string doc = [] {
    json::object paths;
    for (const auto& r : routes()) {
      json::object op{{"summary", r.summary}, {"tags", json::array{r.tag}}};
      std::string method(r.method);
      for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      op["operationId"] = method + std::string(r.path);
      json::array params = query_parameters(r.path);
      std::string_view path = r.path;
      for (std::size_t i = path.find('{'); i != std::string_view::npos; i = path.find('{', i + 1)) {
        auto name = path.substr(i + 1, path.find('}', i) - i - 1);
        params.push_back(json::object{{"name", name}, {"in", "path"}, {"required", true},
                                      {"schema", json::object{{"type", "string"}}}});
      }
      bool changes = method != "get";
      if (r.access != Access::open && changes)
        params.push_back(json::object{{"name", "X-CSRF-Token"}, {"in", "header"}, {"required", false},
                                      {"description", "the session's csrf_token; required with a session cookie, not with a token"},
                                      {"schema", json::object{{"type", "string"}}}});
      if (!params.empty()) op["parameters"] = params;
      if (r.request[0])
        op["requestBody"] = json::object{{"required", true},
                                         {"content", json::object{{"application/json", json::object{{"schema", schema_ref(r.request)}}}}}};
      json::object responses;
      std::string_view resp = r.response;
      if (resp.empty()) {
        responses[std::to_string(r.status)] = json::object{{"description", "done"}};
      } else if (resp.starts_with('@')) {
        responses[std::to_string(r.status)] =
            json::object{{"description", "the document"}, {"content", json::object{{std::string(resp.substr(1)), json::object{}}}}};
      } else {
        responses[std::to_string(r.status)] =
            json::object{{"description", "done"}, {"content", json::object{{"application/json", json::object{{"schema", schema_ref(resp)}}}}}};
      }
      if (r.request[0] || !params.empty()) responses["400"] = error_response("malformed request: the field is named");
      if (r.access != Access::open) {
        responses["401"] = error_response("no session or token");
        responses["403"] = error_response("missing CSRF token, or the role does not allow it");
      }
      if (path.find('{') != std::string_view::npos || path == "/api/v1/resolve") responses["404"] = error_response("not found");
      if (!changes && !query_parameters(r.path).empty()) responses["422"] = error_response("a query parameter is invalid: the field is named");
      if (changes) {
        responses["409"] = error_response("conflicts with what exists");
        responses["413"] = error_response("body too large");
        responses["422"] = error_response("a value is invalid: the field is named");
      }
      if (std::string_view(r.path) == "/api/v1/login") responses["429"] = error_response("too many failed sign-ins");
      if (std::string_view(r.path) == "/api/v1/streams/{stream}/live")
        responses["429"] = error_response("too many live connections of this user");
      op["responses"] = responses;
      if (r.access == Access::open) op["security"] = json::array{};
      // Who may call it, beyond "authenticated": admin, user (a session) or member (a session
      // or a token; the answer depends on the caller's streams).
      if (r.access != Access::open)
        op["x-access"] = r.access == Access::admin ? "admin" : r.access == Access::user ? "user" : "member";
      auto& item = paths[r.path];
      if (!item.is_object()) item = json::object{};
      item.as_object()[method] = op;
    }
    json::object whole{
        {"openapi", "3.1.0"},
        {"info", json::object{{"title", "Mailstead admin API"}, {"version", "1"},
                              {"description", "Administration and self-service of a Mailstead mail server (docs/admin-api.md)."}}},
        {"paths", paths},
        {"components",
         json::object{{"schemas", json::parse(schemas)},
                      {"securitySchemes",
                       json::object{{"session", json::object{{"type", "apiKey"}, {"in", "cookie"}, {"name", "mailstead_session"}}},
                                    {"token", json::object{{"type", "http"}, {"scheme", "bearer"}}}}}}},
        {"security", json::array{json::object{{"session", json::array{}}}, json::object{{"token", json::array{}}}}}};
    return json::serialize(whole);
  }();
  return doc;
}

}  // namespace mailstead::api

// A chat stream message as the API answers it (GET …/messages) and the live WebSocket
// pushes it: one shape for both.
#pragma once

#include "api/call.hpp"
#include "streams/messages.hpp"

namespace mailstead::api {

json::object stream_message_view(const std::string& slug, const streams::StreamMessage& m);

}  // namespace mailstead::api

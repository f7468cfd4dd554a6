// `mailstead stream forward STREAM …` (cli/stream_forward.cpp): a stream's forward targets.
#pragma once

#include "cli/cli.hpp"

namespace mailstead::admin {
class Ops;
}

namespace mailstead::cli {

inline constexpr const char* stream_forward_usage =
    "stream forward STREAM add zulip --site URL --bot-email E --api-key-file F|- [--stream NAME] [--allow-http] | "
    "add webhook --url-file F|- [--allow-http] | list [--json] | status [--json] | remove ID | retry [ID]";
int run_stream_forward(const Args& args, admin::Ops& ops);

}  // namespace mailstead::cli

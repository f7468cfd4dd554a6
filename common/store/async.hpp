// co_await a store batch from a session: resumes on the session's executor once the
// group commit holding the batch is durable (DESIGN principle 2). Asio only in here.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <memory>

#include "store/store.hpp"

namespace mailstead::store {

template <class Token>
auto async_commit(Store& store, BatchFn fn, Token&& token) {
  no_transaction_open("store.commit");  // the caller suspends until the commit is durable
  return boost::asio::async_initiate<Token, void(std::error_code)>(
      [&store](auto handler, BatchFn f) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        store.submit(std::move(f), [h, ex](std::error_code ec) {
          boost::asio::post(ex, [h, ec]() mutable { (*h)(ec); });
        });
      },
      token, std::move(fn));
}

}  // namespace mailstead::store

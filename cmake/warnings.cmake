# Project-wide warnings; MAILSTEAD_WERROR turns them into errors (CI sets it).
function(mailstead_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
    -Wnon-virtual-dtor -Wcast-align -Wformat=2 -Wimplicit-fallthrough
    # GCC 12 reports coroutine frames as mismatched new/delete (a known false positive).
    -Wno-mismatched-new-delete)
  if(MAILSTEAD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

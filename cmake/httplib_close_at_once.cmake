# Writes OUT: llama.cpp's vendored cpp-httplib (SRC) with one change to how the server ends a
# connection (drain_and_close_socket, run once per connection):
#
# httplib half-closes the socket, then waits up to 100 ms in poll for the client to send or
# close, reading what comes, and only then closes: so that a client still sending (a body the
# server answered early, 413) does not get a reset that would destroy the answer in flight. A
# client that sends "Connection: close" (Python's requests.post, which Xinference's client uses
# for every call) has sent everything by then: the wait is a sleep until its FIN arrives, a
# context switch and four system calls of the ~20 the gateway makes for a short embedding or
# rerank request. Here one non-blocking peek decides: nothing unread (or the client already
# closed) closes at once, which sends the FIN as the half-close did; anything unread drains as
# before. Applied at configure time to xinfer's own copy only: llama-server keeps httplib as is.
file(READ "${SRC}" text)
set(from "void drain_and_close_socket(socket_t sock) noexcept {\n")
string(CONCAT to "${from}"
  "#ifndef _WIN32\n"
  "  { // xinfer: nothing left unread, so no reset can follow: close at once (cmake/httplib_close_at_once.cmake)\n"
  "    char byte;\n"
  "    const auto n = recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);\n"
  "    if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {\n"
  "      close_socket(sock);\n"
  "      return;\n"
  "    }\n"
  "  }\n"
  "#endif\n")
string(FIND "${text}" "${from}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "cmake/httplib_close_at_once.cmake: drain_and_close_socket not found in ${SRC} (a new httplib? check the change still applies)")
endif()
string(REPLACE "${from}" "${to}" text "${text}")
# Rewritten only when it differs, so a re-configure does not rebuild httplib.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")

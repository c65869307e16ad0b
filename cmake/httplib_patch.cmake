# Writes OUT: llama.cpp's vendored cpp-httplib (SRC) with two changes to what a served request
# costs in system calls. Applied at configure time to xinfer's own copy (the gateway, its hosts,
# the CLI): llama-server keeps httplib as it is. On this project's small VMs each system call and
# each wake-up is dear (a hypervisor exit), and a short embedding or rerank request through the
# gateway made ~20 of them, a relayed chat token 3.
#
# 1. Closing a connection (drain_and_close_socket). httplib half-closes, then waits up to 100 ms
#    in poll for the client to send or close, reading what comes, and only then closes: so that a
#    client still sending (a body the server answered early, 413) gets no reset that would
#    destroy the answer in flight. A client that sent "Connection: close" (Python's
#    requests.post, curl in a script: a connection per call) has sent everything by then:
#    the wait is a sleep until its FIN arrives, a wake-up and four system calls. Here one
#    non-blocking peek decides: nothing unread (or the client already closed) closes at once,
#    which sends the FIN as the half-close did; anything unread drains as before.
# 2. Writing (SocketStream::write). httplib polls for room before every send, though the socket's
#    send timeout (SO_SNDTIMEO, set on every socket it makes) bounds a blocking send the same way.
#    Here a non-blocking send goes first; only a full socket buffer waits in poll as before.
file(READ "${SRC}" text)

function(change from to)
  string(FIND "${text}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "cmake/httplib_patch.cmake: '${from}' not found in ${SRC} (a new httplib? check the changes still apply)")
  endif()
  string(REPLACE "${from}" "${to}" patched "${text}")
  set(text "${patched}" PARENT_SCOPE)
endfunction()

set(close "void drain_and_close_socket(socket_t sock) noexcept {\n")
change("${close}" "${close}#ifndef _WIN32
  { // xinfer (cmake/httplib_patch.cmake): nothing left unread, so no reset can follow: close at once
    char byte;
    const auto n = recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
      close_socket(sock);
      return;
    }
  }
#endif
")

set(write "ssize_t SocketStream::write(const char *ptr, size_t size) {\n")
change("${write}" "${write}#ifndef _WIN32
  { // xinfer (cmake/httplib_patch.cmake): poll only when the socket buffer is full
    const auto n = handle_EINTR([&]() { return send(sock_, ptr, size, CPPHTTPLIB_SEND_FLAGS | MSG_DONTWAIT); });
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) { return n; }
  }
#endif
")

# Rewritten only when it differs, so a re-configure does not rebuild httplib.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")

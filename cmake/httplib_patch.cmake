# Writes OUT: llama.cpp's vendored cpp-httplib (SRC) with five changes to what a served request
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
# 3. Accepting (Server::listen_internal). httplib sets TCP_NODELAY on every accepted socket,
#    though it made the listening socket with it and a TCP connection takes it from the listener
#    (Linux copies it when the handshake completes): where the listener has it, it is not set
#    again. (Not so the timeouts: an accepted socket gets none of the listener's, so those are
#    still set one by one.)
# 4. Each request's local address (process_and_close_socket): a getsockname a connection for
#    Request::local_addr and local_port, which xinfer never reads: not asked (left empty).
# 5. The read buffer (SocketStream): every request's stream allocated and zeroed 4 KiB, a size
#    glibc serves from its main bins (consolidating the small-chunk bins first, ~2 % of the
#    gateway's CPU at 8 rerank clients). A thread keeps two such buffers for its next streams.
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

set(queue "    std::unique_ptr<TaskQueue> task_queue(new_task_queue());\n\n")
change("${queue}" "${queue}    // xinfer (cmake/httplib_patch.cmake): a TCP listener with TCP_NODELAY passes it to what it accepts
    bool nodelay_inherited = false;
    {
      struct sockaddr_storage addr;
      socklen_t len = sizeof(addr);
      int on = 0;
      socklen_t on_len = sizeof(on);
      nodelay_inherited = getsockname(svr_sock_, reinterpret_cast<struct sockaddr *>(&addr), &len) == 0 &&
                          (addr.ss_family == AF_INET || addr.ss_family == AF_INET6) &&
                          getsockopt(svr_sock_, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<char *>(&on), &on_len) == 0 && on;
    }

")

set(nodelay "      if (tcp_nodelay_) { set_socket_opt(sock, IPPROTO_TCP, TCP_NODELAY, 1); }\n")
change("${nodelay}" "      if (tcp_nodelay_ && !nodelay_inherited) { // xinfer (cmake/httplib_patch.cmake)
        set_socket_opt(sock, IPPROTO_TCP, TCP_NODELAY, 1);
      }
")

set(local "  std::string local_addr;
  int local_port = 0;
  detail::get_local_ip_and_port(sock, local_addr, local_port);
")
change("${local}" "  std::string local_addr; // xinfer (cmake/httplib_patch.cmake): not asked, never read
  int local_port = 0;
")

set(stream_class "class SocketStream final : public Stream {")
change("${stream_class}" "// xinfer (cmake/httplib_patch.cmake): a stream's read buffer, kept by its thread for the next.
class ReusedReadBuffer {
public:
  ReusedReadBuffer(size_t size, char) : size_(size) {
    auto &spare = spares();
    if (size_ == kSize && !spare.empty()) {
      data_ = spare.back().release();
      spare.pop_back();
    } else {
      data_ = new char[size_];
    }
  }
  ~ReusedReadBuffer() {
    auto &spare = spares();
    if (size_ == kSize && spare.size() < 2) {
      spare.emplace_back(data_);
    } else {
      delete[] data_;
    }
  }
  ReusedReadBuffer(const ReusedReadBuffer &) = delete;
  ReusedReadBuffer &operator=(const ReusedReadBuffer &) = delete;
  char *data() { return data_; }
  const char *data() const { return data_; }

private:
  static constexpr size_t kSize = 4096;
  static std::vector<std::unique_ptr<char[]>> &spares() {
    static thread_local std::vector<std::unique_ptr<char[]>> spare;
    return spare;
  }
  size_t size_;
  char *data_;
};

${stream_class}")
change("  std::vector<char> read_buff_;\n" "  ReusedReadBuffer read_buff_;\n")

# Rewritten only when it differs, so a re-configure does not rebuild httplib.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")

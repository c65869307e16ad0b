// HTTP clients for talking to engine replicas (unix socket or loopback TCP) and, from the CLI,
// to the xinfer REST API.
#pragma once

#include <httplib.h>

#include <memory>
#include <mutex>
#include <vector>
#include <string>

namespace xinfer {

// address: "/path/to/x.sock" (unix socket) or "host:port" or "http://host:port[/]".
// Throws std::invalid_argument, saying why, for an address no connection can be made to (a port
// outside 1-65535 or not a number, https, another scheme): httplib's client would be left
// without a connection and crash on first use.
std::unique_ptr<httplib::Client> make_client(const std::string& address);

// Why `address` cannot be connected to, as make_client would refuse it; empty when it can.
std::string unusable_address(const std::string& address);

// A loopback TCP port that was free a moment ago (the kernel's pick), for a child process to
// listen on; 0 when none could be had.
int free_loopback_port();

}  // namespace xinfer

#include "common/connection_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace xinfer {

ConnectionPool::~ConnectionPool() {
    for (const Socket& s : idle_) close(s.fd);
}

ConnectionPool::Socket ConnectionPool::take() {
    for (;;) {
        Socket s;
        {
            std::lock_guard lock(mu_);
            if (idle_.empty()) return {};
            s = idle_.back();
            idle_.pop_back();
        }
        // One peek says whether the engine closed it while it lay idle (an idle timeout, a
        // restart): nothing to read is the healthy answer.
        char byte;
        const ssize_t n = recv(s.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return s;
        close(s.fd);
    }
}

void ConnectionPool::give(const Socket& socket) {
    {
        std::lock_guard lock(mu_);
        if (idle_.size() < max_idle_) {
            idle_.push_back(socket);
            return;
        }
    }
    close(socket.fd);
}

}  // namespace xinfer

#include "common/connection_pool.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace xinfer {

ConnectionPool::~ConnectionPool() {
    for (int fd : idle_) close(fd);
}

int ConnectionPool::take() {
    for (;;) {
        int fd;
        {
            std::lock_guard lock(mu_);
            if (idle_.empty()) return -1;
            fd = idle_.back();
            idle_.pop_back();
        }
        // One peek says whether the engine closed it while it lay idle (an idle timeout, a
        // restart): nothing to read is the healthy answer.
        char byte;
        const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return fd;
        close(fd);
    }
}

void ConnectionPool::give(int fd) {
    {
        std::lock_guard lock(mu_);
        if (idle_.size() < max_idle_) {
            idle_.push_back(fd);
            return;
        }
    }
    close(fd);
}

}  // namespace xinfer

// A listening unix socket at a fresh temporary path, for tests whose server plays an engine.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

// Sets `path` (unique per call in this process, "xinfer-TAG-PID-N.sock") and returns the socket.
inline int listen_unix(const std::string& tag, int backlog, std::string& path) {
    static int counter = 0;
    path = (std::filesystem::temp_directory_path() /
            ("xinfer-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".sock")).string();
    unlink(path.c_str());
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, backlog) != 0) ADD_FAILURE() << "bind " << path;
    return fd;
}

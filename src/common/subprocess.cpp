#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace xinfer {

struct ProcessManager::Impl {
    struct Request {
        SpawnSpec spec;
        ExitCallback on_exit;
        std::promise<pid_t> result;
    };
    std::mutex mu;
    int wake_fd = -1;                 // an eventfd: wakes the manager thread (new request, stop)
    std::condition_variable reaped;   // wakes terminate() waiters
    std::deque<Request*> queue;
    std::map<pid_t, ExitCallback> children;
    std::map<pid_t, int> pidfds;      // the manager thread's own: readable once the child exits
    bool stopping = false;
    std::thread thread;

    void run();
    void do_spawn(Request& r);
    void reap();
    void wake();
    void wait_for_events();
};

namespace {

// Everything exec needs is built before fork: after fork in a threaded program only
// async-signal-safe calls are allowed.
struct ExecImage {
    std::vector<std::string> strings;
    std::vector<char*> argv, envp;
};

ExecImage make_image(const SpawnSpec& spec) {
    ExecImage img;
    for (auto& a : spec.argv) img.argv.push_back(const_cast<char*>(a.c_str()));
    img.argv.push_back(nullptr);
    img.strings.reserve(spec.env.size() + 256);
    for (char** e = environ; e && *e; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        bool overridden = false;
        for (auto& x : spec.env)
            if (x.compare(0, eq + 1, kv, 0, eq + 1) == 0) overridden = true;
        if (!overridden) img.strings.push_back(kv);
    }
    for (auto& x : spec.env) img.strings.push_back(x);
    for (auto& s : img.strings) img.envp.push_back(const_cast<char*>(s.c_str()));
    img.envp.push_back(nullptr);
    return img;
}

}  // namespace

void ProcessManager::Impl::do_spawn(Request& r) {
    if (r.spec.argv.empty()) {
        r.result.set_exception(std::make_exception_ptr(std::runtime_error("empty argv")));
        return;
    }
    ExecImage img = make_image(r.spec);
    int log_fd = r.spec.log_path.empty()
                     ? open("/dev/null", O_WRONLY | O_CLOEXEC)
                     : open(r.spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        r.result.set_exception(std::make_exception_ptr(
            std::runtime_error("cannot open log " + r.spec.log_path + ": " + strerror(errno))));
        return;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        // Child: die with the service, own process group, clean descriptors.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        close_range(3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(img.argv[0], img.argv.data(), img.envp.data());
        const char msg[] = "xinfer: exec failed: ";
        (void)!::write(2, msg, sizeof msg - 1);
        const char* err = strerror(errno);
        (void)!::write(2, err, strlen(err));
        (void)!::write(2, "\n", 1);
        _exit(127);
    }
    close(log_fd);
    if (pid < 0) {
        r.result.set_exception(std::make_exception_ptr(
            std::runtime_error(std::string("fork failed: ") + strerror(errno))));
        return;
    }
    {
        std::lock_guard lock(mu);
        children[pid] = std::move(r.on_exit);
    }
    r.result.set_value(pid);
}

void ProcessManager::Impl::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        ExitCallback cb;
        {
            std::lock_guard lock(mu);
            if (auto fd = pidfds.find(pid); fd != pidfds.end()) {
                if (fd->second >= 0) close(fd->second);
                pidfds.erase(fd);
            }
            auto it = children.find(pid);
            if (it == children.end()) continue;
            cb = std::move(it->second);
            children.erase(it);
        }
        if (cb) cb(status);
        reaped.notify_all();
    }
}

void ProcessManager::Impl::wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
}

// Sleeps until a spawn request or stop arrives or a child exits: one pidfd per child, so an idle
// service does not wake up to poll waitpid (it did 50 times a second). Without pidfds (a kernel
// before 5.3) it looks every 20 ms instead.
void ProcessManager::Impl::wait_for_events() {
    std::vector<pollfd> fds{{wake_fd, POLLIN, 0}};
    bool all_watched = true;
    {
        std::lock_guard lock(mu);
        for (auto& [pid, cb] : children) {
            auto it = pidfds.find(pid);
            if (it == pidfds.end()) {
                const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
                it = pidfds.emplace(pid, fd).first;
            }
            if (it->second >= 0) fds.push_back({it->second, POLLIN, 0});
            else all_watched = false;
        }
    }
    ::poll(fds.data(), fds.size(), all_watched ? -1 : 20);
    uint64_t drained;
    if (fds[0].revents & POLLIN) (void)!::read(wake_fd, &drained, sizeof drained);
}

void ProcessManager::Impl::run() {
    std::unique_lock lock(mu);
    while (!stopping) {
        while (!queue.empty()) {
            Request* r = queue.front();
            queue.pop_front();
            lock.unlock();
            do_spawn(*r);
            lock.lock();
        }
        lock.unlock();
        reap();
        wait_for_events();
        lock.lock();
    }
}

ProcessManager::ProcessManager() : impl_(new Impl) {
    impl_->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (impl_->wake_fd < 0) throw std::runtime_error(std::string("eventfd: ") + strerror(errno));
    impl_->thread = std::thread([this] { impl_->run(); });
}

ProcessManager::~ProcessManager() {
    {
        std::lock_guard lock(impl_->mu);
        impl_->stopping = true;
    }
    impl_->wake();
    if (impl_->thread.joinable()) impl_->thread.join();
    for (auto& [pid, fd] : impl_->pidfds)
        if (fd >= 0) close(fd);
    close(impl_->wake_fd);
    delete impl_;
}

ProcessManager& ProcessManager::instance() {
    // Leaked on purpose: children must outlive static destruction order games.
    static ProcessManager* pm = new ProcessManager();
    return *pm;
}

pid_t ProcessManager::spawn(const SpawnSpec& spec, ExitCallback on_exit) {
    Impl::Request r{spec, std::move(on_exit), {}};
    auto fut = r.result.get_future();
    {
        std::lock_guard lock(impl_->mu);
        impl_->queue.push_back(&r);
    }
    impl_->wake();
    return fut.get();
}

bool ProcessManager::alive(pid_t pid) {
    std::lock_guard lock(impl_->mu);
    return impl_->children.count(pid) > 0;
}

void ProcessManager::terminate(pid_t pid, std::chrono::milliseconds grace) {
    std::unique_lock lock(impl_->mu);
    if (!impl_->children.count(pid)) return;
    kill(pid, SIGTERM);
    auto gone = [&] { return impl_->children.count(pid) == 0; };
    if (!impl_->reaped.wait_for(lock, grace, gone)) {
        kill(pid, SIGKILL);
        impl_->reaped.wait_for(lock, std::chrono::seconds(10), gone);
    }
}

void ProcessManager::terminate_all(std::chrono::milliseconds grace) {
    std::vector<pid_t> pids;
    {
        std::lock_guard lock(impl_->mu);
        for (auto& [pid, cb] : impl_->children) pids.push_back(pid);
    }
    for (pid_t p : pids) kill(p, SIGTERM);
    for (pid_t p : pids) terminate(p, grace);
}

std::string describe_wait_status(int st) {
    if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    }
    return "ended (wait status " + std::to_string(st) + ")";
}

std::string tail_lines(const std::string& path, size_t max_lines) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    std::streamoff start = size > 16384 ? size - 16384 : 0;
    in.seekg(start);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::vector<std::string> lines;
    size_t begin = 0;
    for (size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '\n') {
            if (i > begin) lines.push_back(text.substr(begin, i - begin));
            begin = i + 1;
        }
    }
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // first one is cut
    size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
    std::string out;
    for (size_t i = from; i < lines.size(); ++i) out += (out.empty() ? "" : "\n") + lines[i];
    return out;
}

}  // namespace xinfer

#include "worker/replica.h"

#include <filesystem>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "common/subprocess.h"

namespace xinfer {

Replica::Replica(std::string model_uid, int index, EngineCommand command, std::string address,
                 std::string log_path)
    : uid_(std::move(model_uid)),
      index_(index),
      command_(std::move(command)),
      address_(std::move(address)),
      log_path_(std::move(log_path)) {}

Replica::~Replica() { stop(); }

void Replica::start(std::function<void(int)> on_exit) {
    if (!address_.empty() && address_[0] == '/') std::filesystem::remove(address_);
    running_ = true;
    try {
        pid_ = ProcessManager::instance().spawn(
            {command_.argv, command_.env, log_path_}, [this, on_exit](int status) {
                {
                    std::lock_guard lock(mu_);
                    exit_reason_ = describe_wait_status(status);
                    exit_status_ = status;
                }
                running_ = false;
                healthy_ = false;
                if (on_exit) on_exit(status);
            });
    } catch (...) {
        running_ = false;
        throw;
    }
    log::info("model=" + uid_ + " replica=" + std::to_string(index_) + " engine started pid=" +
              std::to_string(pid_) + " address=" + address_);
}

std::string Replica::exit_reason() const {
    std::lock_guard lock(mu_);
    return exit_reason_;
}

int Replica::exit_status() const {
    std::lock_guard lock(mu_);
    return exit_status_;
}

std::string Replica::wait_until_ready(std::chrono::seconds timeout, const std::atomic<bool>& cancel) {
    const auto started = std::chrono::steady_clock::now();
    auto deadline = started + timeout;
    std::unique_ptr<httplib::Client> client;
    try {
        client = make_client(address_);
    } catch (const std::exception& e) {  // an address no engine can be reached at: the launch fails
        return e.what();
    }
    client->set_connection_timeout(1, 0);
    client->set_read_timeout(5, 0);
    while (std::chrono::steady_clock::now() < deadline) {
        if (cancel) return "launch cancelled";
        if (!running_) {
            std::string tail = tail_lines(log_path_, 12);
            return "engine process " + exit_reason() + " while loading the model" +
                   (tail.empty() ? "" : ". Last engine log lines:\n" + tail);
        }
        if (auto res = client->Get("/health"); res && res->status == 200) {
            healthy_ = true;
            return "";
        }
        // Small models are ready within a second: look often then, less often after.
        const bool early = std::chrono::steady_clock::now() - started < std::chrono::seconds(3);
        std::this_thread::sleep_for(std::chrono::milliseconds(early ? 5 : 50));
    }
    return "engine did not become ready within " + std::to_string(timeout.count()) + " s";
}

void Replica::stop() {
    if (pid_ > 0 && running_) ProcessManager::instance().terminate(pid_, std::chrono::seconds(5));
    if (!address_.empty() && address_[0] == '/') {
        std::error_code ec;
        std::filesystem::remove(address_, ec);
    }
}

}  // namespace xinfer

#include "cli/embedded_etcd.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

#include "common/http_client.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/subprocess.h"

namespace xinfer::cli {

namespace fs = std::filesystem;

namespace {
// Beside xinfer first (a bundle carries one), then where Debian's etcd-server puts it.
std::string find_etcd() {
    std::error_code ec;
    const fs::path beside = fs::read_symlink("/proc/self/exe", ec).parent_path() / "etcd";
    if (!ec && access(beside.c_str(), X_OK) == 0) return beside.string();
    for (const char* p : {"/usr/bin/etcd", "/usr/local/bin/etcd"})
        if (access(p, X_OK) == 0) return p;
    return "";
}
}  // namespace

std::string start_embedded_etcd(const std::string& host, const std::string& advertise_host, int client_port) {
    // Debian's etcd-server package starts its own etcd where systemd runs: use the one there.
    const std::string local = (host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host) + ":" + std::to_string(client_port);
    if (auto r = make_client(local)->Get("/health"); r && r->status == 200) {
        log::info("an etcd already answers at " + local + "; the cluster keeps its state there");
        return "http://" + advertise_host + ":" + std::to_string(client_port);
    }
    const std::string program = find_etcd();
    if (program.empty())
        throw std::runtime_error("workers need an etcd: install it (apt-get install etcd-server) or pass --etcd URL");
    const fs::path dir = xinfer_home() / "etcd";
    fs::create_directories(dir);
    const std::string listen = "http://" + host + ":" + std::to_string(client_port);
    const std::string advertise = "http://" + advertise_host + ":" + std::to_string(client_port);
    const std::string peer = "http://127.0.0.1:" + std::to_string(client_port + 1);
    SpawnSpec spec;
    spec.argv = {program, "--name", "xinfer", "--data-dir", (dir / "data").string(), "--listen-client-urls", listen,
                 "--advertise-client-urls", advertise, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                 "--initial-cluster", "xinfer=" + peer};
    spec.log_path = (dir / "etcd.log").string();
    ProcessManager::instance().spawn(spec, [](int status) {
        log::error("the embedded etcd stopped (" + describe_wait_status(status) + "); see XINFER_HOME/etcd/etcd.log");
    });
    for (int i = 0; i < 100; ++i) {
        auto client = make_client(local);
        if (auto r = client->Get("/health"); r && r->status == 200) {
            log::info("embedded etcd answering at " + advertise + " (data in " + dir.string() + ")");
            return advertise;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("the embedded etcd did not come up in 10 s; see " + spec.log_path);
}

}  // namespace xinfer::cli

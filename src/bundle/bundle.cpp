#include "bundle/bundle.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/paths.h"
#include "hub/curl_library.h"
#include "hub/sha256.h"

namespace xinfer {

namespace fs = std::filesystem;

namespace {

// Never bundled: glibc and the loader (on every Linux system, tied to its kernel interface), and
// the NVIDIA driver's libraries (they must match the target's driver; the NVIDIA container
// runtime or the driver install provides them).
bool never_bundled(const std::string& soname) {
    static const std::set<std::string> names = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                                                "libresolv.so.2", "libutil.so.1", "ld-linux-x86-64.so.2", "linux-vdso.so.1",
                                                "ld-linux-aarch64.so.1", "libcuda.so.1"};
    return names.count(soname) > 0 || soname.rfind("libnvidia-", 0) == 0;
}

// Runs a program to completion; its stdout when `capture`. Throws on a failed start or exit.
std::string run(const std::vector<std::string>& argv, bool capture = false) {
    int fds[2] = {-1, -1};
    if (capture && pipe(fds) != 0) throw std::runtime_error("cannot create a pipe");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("cannot start " + argv[0]);
    if (pid == 0) {
        if (capture) {
            dup2(fds[1], STDOUT_FILENO);
            close(fds[0]);
            close(fds[1]);
        }
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    std::string out;
    if (capture) {
        close(fds[1]);
        char buf[4096];
        for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
        close(fds[0]);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string cmd;
        for (auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
        throw std::runtime_error("`" + cmd + "` failed (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
    }
    return out;
}

// Hard link when the cache and the output share a file system (no copy of gigabytes), else copy.
// The file itself is placed, never a symbolic link to it (libraries are links to versioned files).
void place(const fs::path& from, const fs::path& to) {
    fs::create_directories(to.parent_path());
    const fs::path real = fs::canonical(from);
    std::error_code ec;
    fs::create_hard_link(real, to, ec);
    if (ec) fs::copy_file(real, to, fs::copy_options::overwrite_existing);
}

void write_script(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                              fs::perms::others_exec);
}

const char* kRunScript = R"SH(#!/bin/sh
# Starts xinfer from this bundle: its own libraries, its own home (models included), offline.
# Arguments go to `xinfer serve` (e.g. -H 0.0.0.0 -p 9997).
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export XINFER_HOME="${XINFER_HOME:-$here/home}"
export XINFER_LLAMA_SERVER="$here/bin/llama-server"
export XINFER_OFFLINE="${XINFER_OFFLINE:-1}"
if [ -f "$here/deploy.json" ]; then
  exec "$here/bin/xinfer" serve --config "$here/deploy.json" "$@"
fi
exec "$here/bin/xinfer" serve "$@"
)SH";

const char* kInstallScript = R"SH(#!/bin/sh
# Checks every file of this bundle against MANIFEST.sha256, then starts xinfer (run.sh).
# For machines without xinfer; with it, `xinfer bundle install BUNDLE.tar DIR` does the same.
set -e
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here" && sha256sum --quiet --strict -c MANIFEST.sha256)
echo "xinfer bundle verified: $(wc -l < "$here/MANIFEST.sha256") files"
exec "$here/run.sh" "$@"
)SH";

}  // namespace

std::vector<fs::path> shared_libraries(const fs::path& binary) {
    const std::string out = run({"ldd", binary.string()}, true);
    std::vector<fs::path> libs;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string soname, arrow, path;
        words >> soname >> arrow >> path;
        if (never_bundled(fs::path(soname).filename().string())) continue;
        if (arrow != "=>") continue;  // the loader itself, or the vdso
        if (path == "not") throw std::runtime_error(binary.string() + " needs " + soname + ", which is not found on this machine");
        libs.push_back(path);
    }
    return libs;
}

std::vector<fs::path> backend_plugins(const fs::path& dir, const std::vector<fs::path>& linked) {
    std::set<std::string> loaded;
    for (auto& l : linked) loaded.insert(l.filename().string());
    std::vector<fs::path> plugins;
    for (auto& e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("libggml-", 0) == 0 && name.ends_with(".so") && name != "libggml-base.so" && !loaded.count(name))
            plugins.push_back(e.path());
    }
    std::sort(plugins.begin(), plugins.end());
    return plugins;
}

BundleSummary create_bundle(const BundleOptions& o, const BundleProgress& progress) {
    auto note = [&](double f, const std::string& what) {
        if (progress) progress(f, what);
    };
    const fs::path staging = o.out.string() + ".staging";
    fs::remove_all(staging);
    const fs::path root = staging / "xinfer-bundle";
    BundleSummary summary;
    try {
        // Programs, and every library they load.
        note(0.0, "collecting programs and libraries");
        place(fs::canonical(o.xinfer_binary), root / "bin" / "xinfer");
        // The speech model host lives beside xinfer (the supervisor starts it from there).
        const fs::path host = fs::canonical(o.xinfer_binary).parent_path() / "xinfer-host";
        place(host, root / "bin" / "xinfer-host");
        // And the embedding and rerank host, which links none of the speech libraries.
        const fs::path encoder = fs::canonical(o.xinfer_binary).parent_path() / "xinfer-encoder";
        place(encoder, root / "bin" / "xinfer-encoder");
        place(fs::canonical(o.llama_server), root / "bin" / "llama-server");
        for (const char* alias : {"xinference", "xinference-local", "xinference-supervisor", "xinference-worker"})
            fs::create_symlink("xinfer", root / "bin" / alias);
        std::vector<fs::path> binaries = {fs::path(o.xinfer_binary), host, encoder, fs::path(o.llama_server)};
        // etcd (Debian's etcd-server), when installed: cluster mode's store, and what
        // xinference-supervisor starts; the Kubernetes manifests run their etcd members from it.
        if (fs::exists("/usr/bin/etcd")) {
            place("/usr/bin/etcd", root / "bin" / "etcd");
            binaries.push_back("/usr/bin/etcd");
        }
        // ggml's backends, where they are plugins (a CUDA build): ggml looks for them beside the
        // program that loads them, llama-server, xinfer-host and xinfer-encoder alike; their own libraries (CUDA's
        // runtime, cuBLAS, NCCL) go to lib/ with the rest.
        const fs::path llama_dir = fs::canonical(o.llama_server).parent_path();
        for (auto& plugin : backend_plugins(llama_dir, shared_libraries(o.llama_server))) {
            place(plugin, root / "bin" / plugin.filename());
            binaries.push_back(plugin);
        }
        std::map<std::string, fs::path> libs;  // soname -> where it is
        for (auto& binary : binaries)
            for (auto& lib : shared_libraries(binary)) libs.emplace(lib.filename().string(), lib);
        // libcurl is opened by the first download (hub/curl_library.h), so no program lists it:
        // bundled with its own libraries, for downloads from a mirror on the offline network.
        if (const std::string curl = curl_library_file(); !curl.empty()) {
            libs.emplace("libcurl.so.4", curl);
            for (auto& lib : shared_libraries(curl)) libs.emplace(lib.filename().string(), lib);
        }
        for (auto& [soname, path] : libs) place(path, root / "lib" / soname);
        summary.libraries = libs.size();

        // Models, from the model cache: every file of each folder but xinfer's own bookkeeping
        // of unfinished downloads.
        for (auto& name : o.models) {
            const fs::path from = xinfer_home() / "cache" / name;
            if (!fs::is_directory(from))
                throw std::runtime_error("model '" + name + "' is not in the model cache (" + from.string() +
                                         "); download it first (xinfer download " + name + ")");
            for (auto& e : fs::recursive_directory_iterator(from)) {
                const std::string file = e.path().filename().string();
                if (!e.is_regular_file() || file.ends_with(".incomplete") || file == ".xinfer-download.lock") continue;
                place(e.path(), root / "home" / "cache" / name / fs::relative(e.path(), from));
            }
        }
        if (!o.config.empty()) {
            if (!fs::exists(o.config)) throw std::runtime_error("deployment file " + o.config.string() + " does not exist");
            fs::copy_file(o.config, root / "deploy.json");
        }
        write_script(root / "run.sh", kRunScript);
        write_script(root / "install.sh", kInstallScript);

        // The manifest, in sha256sum's format, so the bundle can be checked without xinfer too.
        std::vector<fs::path> files;
        for (auto& e : fs::recursive_directory_iterator(root))
            if (e.is_regular_file() && !e.is_symlink()) files.push_back(fs::relative(e.path(), root));
        std::sort(files.begin(), files.end());
        std::ofstream manifest(root / "MANIFEST.sha256");
        for (size_t i = 0; i < files.size(); ++i) {
            note(0.1 + 0.6 * i / files.size(), "hashing " + std::to_string(i + 1) + "/" + std::to_string(files.size()));
            manifest << sha256_of_file(root / files[i]) << "  " << files[i].string() << "\n";
            summary.bytes += fs::file_size(root / files[i]);
        }
        manifest.close();
        summary.files = files.size();

        note(0.7, "writing " + o.out.string());
        const fs::path partial = o.out.string() + ".incomplete";
        run({"tar", "-cf", partial.string(), "-C", staging.string(), "xinfer-bundle"});
        fs::rename(partial, o.out);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(staging, ec);
        fs::remove(o.out.string() + ".incomplete", ec);
        throw;
    }
    fs::remove_all(staging);
    note(1.0, "done");
    return summary;
}

fs::path install_bundle(const fs::path& tar, const fs::path& dir, const BundleProgress& progress) {
    if (!fs::exists(tar)) throw std::runtime_error("bundle " + tar.string() + " does not exist");
    fs::create_directories(dir);
    if (progress) progress(0.0, "unpacking");
    run({"tar", "-xf", tar.string(), "-C", dir.string()});
    const fs::path root = dir / "xinfer-bundle";
    std::ifstream manifest(root / "MANIFEST.sha256");
    if (!manifest) throw std::runtime_error(tar.string() + " is not an xinfer bundle (no MANIFEST.sha256)");
    std::vector<std::pair<std::string, std::string>> entries;
    for (std::string line; std::getline(manifest, line);)
        if (line.size() > 66) entries.emplace_back(line.substr(0, 64), line.substr(66));
    for (size_t i = 0; i < entries.size(); ++i) {
        if (progress) progress(0.1 + 0.9 * i / entries.size(), "verifying " + entries[i].second);
        const fs::path file = root / entries[i].second;
        if (!fs::exists(file)) throw std::runtime_error("the bundle lacks " + entries[i].second + ", which its manifest lists");
        if (sha256_of_file(file) != entries[i].first)
            throw std::runtime_error(entries[i].second + " differs from the bundle's manifest (damaged in transit?)");
    }
    if (progress) progress(1.0, "verified " + std::to_string(entries.size()) + " files");
    return root;
}

}  // namespace xinfer

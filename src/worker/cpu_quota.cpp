#include "worker/cpu_quota.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace xinfer {

namespace {

std::string read_first_line(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

// `path` (from /proc/self/cgroup, absolute) inside the hierarchy mounted at `top`.
std::filesystem::path under(const std::filesystem::path& top, const std::string& path) {
    const size_t start = path.find_first_not_of('/');
    return start == std::string::npos ? top : top / path.substr(start);
}

// The tighter of two quotas in cores, 0 being none.
double tighter(double a, double b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

// The tightest of the quotas on `dir` and its parents up to `top`; `read` gives one directory's
// quota in cores (0: none).
template <typename Read>
double tightest(std::filesystem::path dir, const std::filesystem::path& top, Read read) {
    double least = 0;
    for (int depth = 0; depth < 64; ++depth) {
        least = tighter(least, read(dir));
        if (dir == top || dir.string().size() <= top.string().size()) break;
        dir = dir.parent_path();
    }
    return least;
}

// "0::/path" (v2), or "N:cpu,cpuacct:/path" (v1's cpu controller): the path.
bool cgroup_path(const std::string& self_cgroup, bool v2, std::string& path) {
    std::istringstream lines(self_cgroup);
    for (std::string line; std::getline(lines, line);) {
        const size_t a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        const std::string controllers = line.substr(a + 1, b - a - 1);
        bool match = v2 && controllers.empty() && line.compare(0, a, "0") == 0;
        std::istringstream names(v2 ? "" : controllers);
        for (std::string n; std::getline(names, n, ',');) match |= n == "cpu";
        if (match) {
            path = line.substr(b + 1);
            return true;
        }
    }
    return false;
}

double quota_of(const std::string& quota, const std::string& period) {
    try {
        const double q = std::stod(quota), p = std::stod(period);
        return q > 0 && p > 0 ? q / p : 0;
    } catch (...) {
        return 0;  // "max", or nothing to read
    }
}

}  // namespace

double cgroup_cpu_quota(const std::string& self_cgroup, const std::filesystem::path& root) {
    std::string path;
    double least = 0;
    auto keep = [&](double q) { least = tighter(least, q); };
    if (cgroup_path(self_cgroup, true, path) && std::filesystem::exists(root / "cgroup.controllers")) {
        keep(tightest(under(root, path), root, [](const std::filesystem::path& dir) {
            std::istringstream max(read_first_line(dir / "cpu.max"));
            std::string quota, period;
            max >> quota >> period;
            return quota_of(quota, period);
        }));
    }
    if (cgroup_path(self_cgroup, false, path)) {
        for (const char* mount : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
            const std::filesystem::path top = root / mount;
            if (!std::filesystem::exists(top / "cpu.cfs_quota_us")) continue;
            keep(tightest(under(top, path), top, [](const std::filesystem::path& dir) {
                return quota_of(read_first_line(dir / "cpu.cfs_quota_us"), read_first_line(dir / "cpu.cfs_period_us"));
            }));
            break;
        }
    }
    return least;
}

double cgroup_cpu_quota() {
    std::ifstream in("/proc/self/cgroup");
    std::stringstream text;
    text << in.rdbuf();
    return cgroup_cpu_quota(text.str(), "/sys/fs/cgroup");
}

}  // namespace xinfer

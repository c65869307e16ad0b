#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace xinfer::cli {

ProgressBar::ProgressBar(std::ostream& out, std::string description, bool interactive)
    : out_(out), description_(std::move(description)), interactive_(interactive) {}

bool ProgressBar::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

void ProgressBar::update(double fraction) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    if (fraction < fraction_ || finished_) return;
    fraction_ = fraction;
    draw();
}

void ProgressBar::finish() {
    if (finished_) return;
    fraction_ = 1.0;
    draw();
    if (interactive_) out_ << "\n";
    out_.flush();
    finished_ = true;
}

void ProgressBar::draw() {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.1f%%", fraction_ * 100);
    if (!interactive_) {
        const int tenths = static_cast<int>(std::floor(fraction_ * 10 + 1e-9));
        if (tenths == printed_tenths_) return;
        printed_tenths_ = tenths;
        out_ << description_ << ": " << pct << (note_.empty() ? "" : " (" + note_ + ")") << "\n" << std::flush;
        return;
    }
    // Ten cells, each split in eighths with the block characters tqdm uses.
    static const char* partial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    const int eighths = static_cast<int>(fraction_ * 80);
    std::string bar;
    for (int i = 0; i < eighths / 8; ++i) bar += "█";
    int cells = eighths / 8;
    if (cells < 10 && eighths % 8) bar += partial[eighths % 8], ++cells;
    bar += std::string(10 - cells, ' ');
    char head[16];
    std::snprintf(head, sizeof head, "%3.0f%%", fraction_ * 100);
    // Padded, so a shorter note leaves no characters of a longer one behind.
    std::string tail = note_.empty() ? "" : " " + note_;
    if (tail.size() < last_tail_) tail += std::string(last_tail_ - tail.size(), ' ');
    last_tail_ = tail.size();
    out_ << "\r" << description_ << ": " << head << "|" << bar << "| " << pct << tail << std::flush;
}

std::string download_note(uint64_t done, uint64_t total, double bytes_per_second) {
    char buf[128];
    const double mib = 1048576.0;
    int n = std::snprintf(buf, sizeof buf, "%.1f/%.1f MiB", done / mib, total / mib);
    if (bytes_per_second > 0) {
        n += std::snprintf(buf + n, sizeof buf - n, ", %.1f MiB/s", bytes_per_second / mib);
        if (total > done) std::snprintf(buf + n, sizeof buf - n, ", %.0f s left", (total - done) / bytes_per_second);
    }
    return buf;
}

}  // namespace xinfer::cli

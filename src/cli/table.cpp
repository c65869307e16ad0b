#include "cli/table.h"

#include <algorithm>

namespace xinfer::cli {

namespace {
// Display width: count UTF-8 code points, not bytes, so CJK names do not break alignment badly.
size_t width(const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}
}  // namespace

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> w(header.size());
    for (size_t i = 0; i < header.size(); ++i) w[i] = width(header[i]);
    for (auto& r : rows)
        for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t i = 0; i < w.size(); ++i) {
            std::string c = i < cells.size() ? cells[i] : "";
            out << c;
            if (i + 1 < w.size()) out << std::string(w[i] - width(c) + 2, ' ');
        }
        out << "\n";
    };
    line(header);
    std::vector<std::string> rule;
    for (auto x : w) rule.push_back(std::string(x, '-'));
    line(rule);
    for (auto& r : rows) line(r);
}

}  // namespace xinfer::cli

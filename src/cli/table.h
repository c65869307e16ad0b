// Plain-text tables for CLI output, column widths fitted to the content.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace xinfer::cli {

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

}  // namespace xinfer::cli

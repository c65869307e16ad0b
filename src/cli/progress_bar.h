// A progress bar in the shape Xinference's CLI draws (tqdm: `Launching model: 45%|████▌     | 45.0%`).
// On a terminal it redraws one line; elsewhere (a log file, a pipe) it prints a plain line each
// time the progress moves on by a tenth, so logs stay readable.
#pragma once

#include <ostream>
#include <string>

namespace xinfer::cli {

class ProgressBar {
public:
    // interactive: redraw in place (the stream is a terminal).
    ProgressBar(std::ostream& out, std::string description, bool interactive);
    void update(double fraction);  // 0..1; never moves backwards
    void finish();                 // draws 100% and ends the line

    // Whether stderr (where bars are drawn) is a terminal.
    static bool stderr_is_terminal();

private:
    void draw();
    std::ostream& out_;
    std::string description_;
    bool interactive_;
    double fraction_ = 0;
    int printed_tenths_ = -1;
    bool finished_ = false;
};

}  // namespace xinfer::cli

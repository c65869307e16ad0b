// A progress bar in the shape Xinference's CLI draws (tqdm: `Launching model: 45%|████▌     | 45.0%`).
// On a terminal it redraws one line; elsewhere (a log file, a pipe) it prints a plain line each
// time the progress moves on by a tenth, so logs stay readable.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace xinfer::cli {

class ProgressBar {
public:
    // interactive: redraw in place (the stream is a terminal).
    ProgressBar(std::ostream& out, std::string description, bool interactive);
    void update(double fraction);  // 0..1; never moves backwards
    void finish();                 // draws 100% and ends the line
    // A few words after the percentage (a download's bytes, speed and time left).
    void set_note(std::string note) { note_ = std::move(note); }

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
    std::string note_;
    size_t last_tail_ = 0;
};

// "312.4/4402.1 MiB, 85.3 MiB/s, 48 s left": a download's note for the bar.
std::string download_note(uint64_t done, uint64_t total, double bytes_per_second);

}  // namespace xinfer::cli

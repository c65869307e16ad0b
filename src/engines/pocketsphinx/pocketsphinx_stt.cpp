#include "engines/pocketsphinx/pocketsphinx_stt.h"

#include <pocketsphinx.h>

#include <cmath>
#include <stdexcept>

namespace xinfer {

namespace {
constexpr double kFrameSeconds = 0.01;  // pocketsphinx frames are 10 ms
// Long recordings are decoded as utterances of at most this long, cut where it is quietest, so
// memory and search time stay bounded however long the upload is.
constexpr double kMaxUtteranceSeconds = 20.0;

// The quietest 10 ms window in [from, to): where to cut between utterances.
size_t quietest_cut(const std::vector<int16_t>& s, size_t from, size_t to) {
    const size_t win = 160;
    size_t best = to;
    double best_energy = 1e300;
    for (size_t at = from; at + win <= to; at += win) {
        double e = 0;
        for (size_t i = at; i < at + win; ++i) e += static_cast<double>(s[i]) * s[i];
        if (e < best_energy) best_energy = e, best = at + win / 2;
    }
    return best;
}
}  // namespace

std::string default_pocketsphinx_model_dir() { return "/usr/share/pocketsphinx/model/en-us"; }

PocketsphinxStt::PocketsphinxStt(const std::string& dir, int decoders) {
    for (int i = 0; i < decoders; ++i) {
        cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", (dir + "/en-us").c_str(), "-lm",
                                       (dir + "/en-us.lm.bin").c_str(), "-dict", (dir + "/cmudict-en-us.dict").c_str(),
                                       "-logfn", "/dev/null", nullptr);
        if (!config) throw std::runtime_error("pocketsphinx: bad configuration for model folder " + dir);
        ps_decoder_t* ps = ps_init(config);
        cmd_ln_free_r(config);
        if (!ps) throw std::runtime_error("pocketsphinx: cannot load the en-us model from " + dir);
        all_.push_back(ps);
        idle_.push_back(ps);
    }
}

PocketsphinxStt::~PocketsphinxStt() {
    for (auto* ps : all_) ps_free(ps);
}

ps_decoder_t* PocketsphinxStt::take() {
    std::unique_lock lock(mu_);
    available_.wait(lock, [&] { return !idle_.empty(); });
    ps_decoder_t* ps = idle_.back();
    idle_.pop_back();
    return ps;
}

void PocketsphinxStt::give(ps_decoder_t* ps) {
    {
        std::lock_guard lock(mu_);
        idle_.push_back(ps);
    }
    available_.notify_one();
}

Transcript PocketsphinxStt::transcribe(const Pcm& pcm, const TranscribeOptions& opt) {
    if (opt.translate) throw UnsupportedRequest("pocketsphinx-en-us transcribes English only; it cannot translate");
    if (!opt.language.empty() && opt.language != "en" && opt.language != "english")
        throw UnsupportedRequest("pocketsphinx-en-us transcribes English only (language '" + opt.language + "')");
    std::vector<int16_t> s(pcm.samples.size());
    for (size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<int16_t>(std::lrint(std::max(-1.0f, std::min(1.0f, pcm.samples[i])) * 32767.0f));

    Transcript t;
    t.language = "en";
    t.duration = pcm.seconds();
    ps_decoder_t* ps = take();
    struct Return {
        PocketsphinxStt* self;
        ps_decoder_t* ps;
        ~Return() { self->give(ps); }
    } give_back{this, ps};

    const size_t max_len = static_cast<size_t>(kMaxUtteranceSeconds * pcm.sample_rate);
    for (size_t begin = 0; begin < s.size();) {
        size_t end = s.size();
        if (end - begin > max_len) end = quietest_cut(s, begin + max_len / 2, begin + max_len);
        ps_start_utt(ps);
        ps_process_raw(ps, s.data() + begin, end - begin, FALSE, TRUE);
        ps_end_utt(ps);
        const double offset = static_cast<double>(begin) / pcm.sample_rate;
        // Words with their frames; a pause (<sil>) of 0.3 s or more starts a new segment.
        TranscriptSegment seg;
        bool open = false;
        for (ps_seg_t* it = ps_seg_iter(ps); it; it = ps_seg_next(it)) {
            std::string w = ps_seg_word(it);
            int sf = 0, ef = 0;
            ps_seg_frames(it, &sf, &ef);
            double ws = offset + sf * kFrameSeconds, we = offset + (ef + 1) * kFrameSeconds;
            bool filler = w.empty() || w[0] == '<' || w[0] == '[' || w == "<s>" || w == "</s>";
            if (filler) {
                if (open && w == "<sil>" && we - ws >= 0.3) {
                    t.segments.push_back(seg);
                    seg = {};
                    open = false;
                }
                continue;
            }
            if (auto paren = w.find('('); paren != std::string::npos) w = w.substr(0, paren);  // "read(2)"
            if (!open) seg.start = ws, open = true;
            seg.end = we;
            seg.text += (seg.text.empty() ? "" : " ") + w;
        }
        if (open) t.segments.push_back(seg);
        begin = end;
    }
    for (auto& seg : t.segments) t.text += (t.text.empty() ? "" : " ") + seg.text;
    return t;
}

}  // namespace xinfer

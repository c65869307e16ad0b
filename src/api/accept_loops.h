// Several threads accept connections on the one listening socket, and a thread that accepted a
// connection serves it itself as long as another is left accepting. httplib's own way, one
// listener handing every connection to a pool thread, costs each connection a wake-up and a
// context switch (~15-20 µs on a small VM, most of what a short request costs the gateway).
// A thread that would leave none accepting hands its connection to the elastic pool instead, so
// accepting never stops behind long streams: streams tie up at most loops-1 accepting threads.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>

#include "api/elastic_thread_pool.h"

namespace xinfer {

class AcceptLoops {
public:
    // `loops` threads accept (1: httplib's way, every connection to the pool).
    AcceptLoops(std::unique_ptr<ElasticThreadPool> pool, int loops);
    // Serves until server.stop(): runs `loops` of httplib's accept loops on the bound server,
    // this thread one of them. True when a loop served and ended by stop() (httplib's listen).
    bool listen(httplib::Server& server);
    int loops() const { return loops_; }
    // Connections served on the thread that accepted them, and handed to the pool.
    long served_by_acceptor() const { return inline_.load(); }
    long handed_to_pool() const { return pooled_.load(); }
    int accepting() const { return accepting_.load(); }  // loops not serving a connection now

private:
    class LoopQueue;
    friend class LoopQueue;
    std::unique_ptr<ElasticThreadPool> pool_;
    const int loops_;
    std::atomic<int> accepting_;  // loops waiting in accept (not serving a connection)
    std::atomic<long> inline_{0}, pooled_{0};
};

}  // namespace xinfer

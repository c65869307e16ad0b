#include "convert/torch_pickle.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

namespace xinfer {

namespace {

// A pickled value, as far as a state dict needs: plain data, the globals the allow-list names,
// storages and rebuilt tensors. Shared, because the memo and the stack may hold the same value.
struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
    enum class Kind { none, boolean, integer, real, text, bytes, tuple, list, dict, global, storage, tensor };
    Kind kind = Kind::none;
    int64_t i = 0;
    double f = 0;
    std::string s;                 // text, bytes, global ("module.name"), storage type
    std::vector<ValuePtr> items;   // tuple, list; dict as key, value, key, value, …
    TorchTensorRecord tensor;      // storage (type, key, elements) and tensor
};

// The only globals a state dict needs. Everything else (os.system, builtins.eval, numpy
// reconstructors, …) is refused when the GLOBAL opcode names it, before anything could use it.
const std::set<std::string>& allowed_globals() {
    static const std::set<std::string> names = {
        "collections.OrderedDict",         "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",    "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch.FloatStorage",              "torch.HalfStorage",
        "torch.BFloat16Storage",           "torch.DoubleStorage",
        "torch.LongStorage",               "torch.IntStorage",
        "torch.ShortStorage",              "torch.CharStorage",
        "torch.ByteStorage",               "torch.BoolStorage",
    };
    return names;
}

class Unpickler {
public:
    Unpickler(const uint8_t* p, size_t n, std::string what) : begin_(p), p_(p), end_(p + n), what_(std::move(what)) {}
    // A hostile pickle can make containers hold themselves (through the memo), a cycle shared
    // pointers never free: every value made is kept here and unlinked when unpickling is over.
    ~Unpickler() {
        for (auto& v : made_) v->items.clear();
    }
    Unpickler(const Unpickler&) = delete;
    Unpickler& operator=(const Unpickler&) = delete;

    ValuePtr run() {
        while (true) {
            const uint8_t op = byte();
            switch (op) {
                case 0x80: byte(); break;                    // PROTO
                case 0x95: take(8); break;                   // FRAME: a size hint only
                case '.': return pop();                      // STOP
                case '(': marks_.push_back(stack_.size()); break;
                case 'N': push(make(Value::Kind::none)); break;
                case 0x88: push_bool(true); break;
                case 0x89: push_bool(false); break;
                case 'J': push_int(static_cast<int32_t>(le(4))); break;
                case 'K': push_int(static_cast<int64_t>(le(1))); break;
                case 'M': push_int(static_cast<int64_t>(le(2))); break;
                case 0x8a: push_int(long1(byte())); break;   // LONG1
                case 'G': push_real(); break;                // BINFLOAT
                case 'X': push_text(Value::Kind::text, le(4)); break;
                case 0x8c: push_text(Value::Kind::text, byte()); break;
                case 0x8d: push_text(Value::Kind::text, le(8)); break;
                case 'T': push_text(Value::Kind::text, le(4)); break;   // BINSTRING (Python 2)
                case 'U': push_text(Value::Kind::text, byte()); break;  // SHORT_BINSTRING
                case 'B': push_text(Value::Kind::bytes, le(4)); break;
                case 'C': push_text(Value::Kind::bytes, byte()); break;
                case ')': push(make(Value::Kind::tuple)); break;
                case ']': push(make(Value::Kind::list)); break;
                case '}': push(make(Value::Kind::dict)); break;
                case 't': push(collect(Value::Kind::tuple)); break;
                case 'l': push(collect(Value::Kind::list)); break;
                case 'd': push(collect(Value::Kind::dict)); break;
                case 0x85: push(tuple_of(1)); break;
                case 0x86: push(tuple_of(2)); break;
                case 0x87: push(tuple_of(3)); break;
                case 'q': memo_[le(1)] = top(); break;       // BINPUT
                case 'r': memo_[le(4)] = top(); break;       // LONG_BINPUT
                case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
                case 'h': push(memo(le(1))); break;          // BINGET
                case 'j': push(memo(le(4))); break;          // LONG_BINGET
                case 'c': {                                  // GLOBAL module\nname\n
                    const std::string module = line();
                    global(module, line());
                    break;
                }
                case 0x93: {                                 // STACK_GLOBAL
                    ValuePtr name = pop(), module = pop();
                    if (module->kind != Value::Kind::text || name->kind != Value::Kind::text) fail("STACK_GLOBAL without names");
                    global(module->s, name->s);
                    break;
                }
                case 'Q': push(persistent(pop())); break;    // BINPERSID
                case 'R': {                                  // REDUCE
                    ValuePtr args = pop(), callable = pop();
                    push(reduce(*callable, *args));
                    break;
                }
                case 'b': pop(); break;  // BUILD: an OrderedDict's _metadata attribute, not needed
                case 's': {              // SETITEM
                    ValuePtr v = pop(), k = pop();
                    add_to(Value::Kind::dict, {k, v});
                    break;
                }
                case 'u': add_to(Value::Kind::dict, pop_mark()); break;  // SETITEMS
                case 'a': add_to(Value::Kind::list, {pop()}); break;     // APPEND
                case 'e': add_to(Value::Kind::list, pop_mark()); break;  // APPENDS
                default: {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "0x%02x", op);
                    fail(std::string("pickle opcode ") + hex + " is not one torch.save writes for a state dict");
                }
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error(what_ + ": " + why + " (at byte " + std::to_string(pos()) + ")");
    }
    size_t pos() const { return static_cast<size_t>(p_ - begin_); }
    const uint8_t* take(uint64_t n) {
        if (n > static_cast<uint64_t>(end_ - p_)) fail("truncated pickle");
        const uint8_t* at = p_;
        p_ += n;
        return at;
    }
    uint8_t byte() { return *take(1); }
    uint64_t le(int n) {
        const uint8_t* at = take(n);
        uint64_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = v << 8 | at[k];
        return v;
    }
    int64_t long1(uint8_t n) {
        if (n > 8) fail("integer wider than 64 bits");
        if (n == 0) return 0;
        uint64_t v = le(n);
        if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);  // sign-extend
        return static_cast<int64_t>(v);
    }
    std::string line() {
        const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', end_ - p_));
        if (!nl) fail("unterminated GLOBAL name");
        std::string s(reinterpret_cast<const char*>(p_), nl - p_);
        p_ = nl + 1;
        return s;
    }

    void push(ValuePtr v) { stack_.push_back(std::move(v)); }
    void push_bool(bool b) {
        auto v = make(Value::Kind::boolean);
        v->i = b;
        push(v);
    }
    void push_int(int64_t i) {
        auto v = make(Value::Kind::integer);
        v->i = i;
        push(v);
    }
    void push_real() {
        uint64_t bits = 0;
        const uint8_t* at = take(8);
        for (int k = 0; k < 8; ++k) bits = bits << 8 | at[k];  // big-endian
        auto v = make(Value::Kind::real);
        std::memcpy(&v->f, &bits, 8);
        push(v);
    }
    void push_text(Value::Kind k, uint64_t n) {
        const uint8_t* at = take(n);
        auto v = make(k);
        v->s.assign(reinterpret_cast<const char*>(at), n);
        push(v);
    }
    ValuePtr pop() {
        if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("pickle stack underflow");
        ValuePtr v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    ValuePtr top() {
        if (stack_.empty()) fail("pickle stack underflow");
        return stack_.back();
    }
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty()) fail("pickle MARK missing");
        const size_t from = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> items(stack_.begin() + from, stack_.end());
        stack_.resize(from);
        return items;
    }
    ValuePtr collect(Value::Kind k) {
        auto v = make(k);
        v->items = pop_mark();
        if (k == Value::Kind::dict && v->items.size() % 2) fail("dict with a key and no value");
        return v;
    }
    ValuePtr tuple_of(int n) {
        auto v = make(Value::Kind::tuple);
        v->items.resize(n);
        for (int k = n - 1; k >= 0; --k) v->items[k] = pop();
        return v;
    }
    ValuePtr memo(uint64_t key) {
        auto it = memo_.find(key);
        if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " was never stored");
        return it->second;
    }
    void add_to(Value::Kind k, const std::vector<ValuePtr>& items) {
        ValuePtr target = top();
        if (target->kind != k) fail(k == Value::Kind::dict ? "SETITEM(S) on a value that is not a dict" : "APPEND(S) on a value that is not a list");
        if (k == Value::Kind::dict && items.size() % 2) fail("SETITEMS with a key and no value");
        target->items.insert(target->items.end(), items.begin(), items.end());
    }

    void global(const std::string& module, const std::string& name) {
        const std::string full = module + "." + name;
        if (!allowed_globals().count(full))
            fail("refers to " + full + ", which is not part of a tensor record; only tensor storage records are read, "
                 "nothing else in a pickle is ever called");
        auto v = make(Value::Kind::global);
        v->s = full;
        push(v);
    }

    // ('storage', torch.FloatStorage, key, location, elements)
    ValuePtr persistent(const ValuePtr& pid) {
        if (pid->kind != Value::Kind::tuple || pid->items.size() < 5 || pid->items[0]->kind != Value::Kind::text ||
            pid->items[0]->s != "storage" || pid->items[1]->kind != Value::Kind::global ||
            pid->items[2]->kind != Value::Kind::text || pid->items[4]->kind != Value::Kind::integer)
            fail("a persistent id that is not a ('storage', type, key, location, size) record");
        auto v = make(Value::Kind::storage);
        v->tensor.storage_type = pid->items[1]->s.substr(std::strlen("torch."));
        v->tensor.storage_key = pid->items[2]->s;
        v->tensor.storage_elements = pid->items[4]->i;
        return v;
    }

    std::vector<int64_t> ints(const ValuePtr& v, const char* field) {
        if (v->kind != Value::Kind::tuple && v->kind != Value::Kind::list) fail(std::string("tensor ") + field + " is not a tuple");
        std::vector<int64_t> out;
        for (auto& x : v->items) {
            if (x->kind != Value::Kind::integer) fail(std::string("tensor ") + field + " holds a non-integer");
            out.push_back(x->i);
        }
        return out;
    }

    ValuePtr reduce(const Value& callable, const Value& args) {
        if (callable.kind != Value::Kind::global) fail("REDUCE on something that is not an allowed global");
        if (args.kind != Value::Kind::tuple) fail("REDUCE arguments are not a tuple");
        const std::string& f = callable.s;
        if (f == "collections.OrderedDict") {
            if (!args.items.empty()) fail("OrderedDict built from arguments");
            return make(Value::Kind::dict);
        }
        if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
            if (args.items.size() < 4 || args.items[0]->kind != Value::Kind::storage || args.items[1]->kind != Value::Kind::integer)
                fail(f + " with arguments that are not (storage, offset, size, stride, …)");
            auto v = make(Value::Kind::tensor);
            v->tensor = args.items[0]->tensor;
            v->tensor.offset = args.items[1]->i;
            v->tensor.shape = ints(args.items[2], "size");
            v->tensor.stride = ints(args.items[3], "stride");
            if (v->tensor.shape.size() != v->tensor.stride.size()) fail("tensor size and stride differ in rank");
            return v;
        }
        if (f == "torch._utils._rebuild_parameter" || f == "torch._utils._rebuild_parameter_with_state") {
            if (args.items.empty() || args.items[0]->kind != Value::Kind::tensor) fail(f + " of something that is not a tensor");
            return args.items[0];
        }
        fail(f + " cannot be called");  // storage types are markers, never called
    }

    const uint8_t* begin_;
    const uint8_t* p_;
    const uint8_t* end_;
    std::string what_;
    std::vector<ValuePtr> stack_;
    std::vector<size_t> marks_;
    std::map<uint64_t, ValuePtr> memo_;
    std::vector<ValuePtr> made_;

    ValuePtr make(Value::Kind k) {
        auto v = std::make_shared<Value>();
        v->kind = k;
        made_.push_back(v);
        return v;
    }
};

}  // namespace

std::vector<TorchTensorRecord> read_torch_state_dict(const uint8_t* pkl, size_t size, const std::string& what) {
    Unpickler unpickler(pkl, size, what);
    ValuePtr root = unpickler.run();
    if (root->kind != Value::Kind::dict) throw std::runtime_error(what + ": the pickle holds no dict of tensors");
    // Training checkpoints wrap the weights: {"state_dict": {…}, "epoch": …}.
    for (size_t k = 0; k + 1 < root->items.size(); k += 2)
        if (root->items[k]->kind == Value::Kind::text && root->items[k]->s == "state_dict" &&
            root->items[k + 1]->kind == Value::Kind::dict) {
            root = root->items[k + 1];
            break;
        }
    std::vector<TorchTensorRecord> out;
    for (size_t k = 0; k + 1 < root->items.size(); k += 2) {
        const Value& key = *root->items[k];
        const Value& value = *root->items[k + 1];
        if (key.kind != Value::Kind::text || value.kind != Value::Kind::tensor) continue;  // e.g. a step counter
        TorchTensorRecord r = value.tensor;
        r.name = key.s;
        out.push_back(std::move(r));
    }
    if (out.empty()) throw std::runtime_error(what + ": the pickle holds no tensors");
    return out;
}

}  // namespace xinfer

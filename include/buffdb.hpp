/*
 * buffdb.hpp: a header-only C++17 wrapper over the BuffDB C API (buffdb.h).
 *
 *   buffdb::db db("assets.bdb");                       // RAII: closed by the destructor
 *   db.stream_write("/levels/1.json", "{...}");
 *   for (std::string_view path : db.search("/levels/")) { ... }
 *   for (auto [key, value] : db.scan("player:")) { ... }
 *   buffdb::txn t = db.begin();                        // rolled back unless committed
 *   t.put("player:hp", "42"); t.commit();
 *
 * Errors. Every call takes an optional last argument `std::error_code &ec` (the
 * std::filesystem idiom). Without it a failure throws buffdb::error (a std::system_error
 * whose code() is the BuffDB status, category buffdb::category(), and whose what() holds
 * the engine's message); with it the call sets `ec` (cleared on success), returns an
 * empty value and never throws a BuffDB error. Built with -fno-exceptions only the `ec`
 * forms exist (a call without one does not compile). Cursors report a failure while
 * iterating the same way: they throw, or set the error_code they were created with
 * (which must outlive them) and end the loop.
 *
 * Buffers. Inputs are buffdb::bytes_view (from a std::string_view, a C string, a
 * std::string, a std::vector/array of bytes or a pointer and a length); caller-owned
 * output buffers are buffdb::mutable_bytes. Borrowed views (cursor rows, search paths,
 * reader chunks) live until the next step of their cursor or reader.
 *
 * Threads: as the C handles (docs/c.md): a buffdb::db may be used by many threads at
 * once; txn, reader, writer and cursors by one thread at a time.
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */
#ifndef BUFFDB_HPP
#define BUFFDB_HPP

#include <buffdb.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define BUFFDB_HPP_EXCEPTIONS 1
/* The error_code argument is optional: without it a failure throws. */
#define BUFFDB_HPP_EC = status_out()
#else
#define BUFFDB_HPP_EXCEPTIONS 0
/* Without exceptions every call must be given a std::error_code. */
#define BUFFDB_HPP_EC
#endif

namespace buffdb {

/* ---- errors ---------------------------------------------------------------------- */

namespace detail {
class category_impl : public std::error_category {
  public:
    const char *name() const noexcept override { return "buffdb"; }
    std::string message(int code) const override { return buffdb_status_str(code); }
};
} // namespace detail

/* The error category of BuffDB statuses (value = the buffdb_status number). */
inline const std::error_category &category() noexcept {
    static const detail::category_impl instance;
    return instance;
}

inline std::error_code make_error_code(buffdb_status status) noexcept { return {int(status), category()}; }

#if BUFFDB_HPP_EXCEPTIONS
/* A failed call: code() is the status, what() the engine's message. */
class error : public std::system_error {
  public:
    error(buffdb_status status, const std::string &message) : std::system_error(make_error_code(status), message) {}
    buffdb_status status() const noexcept { return buffdb_status(code().value()); }
};
#endif

/* Where a call reports its status: an error_code, or (default) an exception. */
class status_out {
  public:
    status_out() noexcept = default;
    status_out(std::error_code &ec) noexcept : ec_(&ec) {} // NOLINT: implicit on purpose
    explicit status_out(std::error_code *ec) noexcept : ec_(ec) {}

    /* true when `status` is BUFFDB_OK; otherwise records or throws it. */
    bool operator()(buffdb_status status) const {
        if (status == BUFFDB_OK) {
            if (ec_) ec_->clear();
            return true;
        }
        fail(status);
        return false;
    }
    void fail(buffdb_status status) const {
        if (ec_) {
            *ec_ = make_error_code(status);
            return;
        }
#if BUFFDB_HPP_EXCEPTIONS
        throw error(status, buffdb_last_error_message());
#else
        std::fprintf(stderr, "buffdb: unhandled error: %s\n", buffdb_last_error_message());
        std::abort();
#endif
    }
    std::error_code *target() const noexcept { return ec_; }

  private:
    std::error_code *ec_ = nullptr;
};

/* ---- buffers --------------------------------------------------------------------- */

/* A borrowed read-only byte range. */
class bytes_view {
  public:
    constexpr bytes_view() noexcept = default;
    bytes_view(const void *data, std::size_t size) noexcept : data_(static_cast<const std::uint8_t *>(data)), size_(size) {}
    bytes_view(std::string_view s) noexcept : bytes_view(s.data(), s.size()) {}
    bytes_view(const char *s) noexcept : bytes_view(std::string_view(s)) {}
    /* Any contiguous container of 1-byte elements (std::string, std::vector<uint8_t>, std::array, std::span...). */
    template <class C, class = std::enable_if_t<sizeof(*std::declval<const C &>().data()) == 1 &&
                                                !std::is_convertible_v<const C &, const char *>>>
    bytes_view(const C &c) noexcept : bytes_view(c.data(), c.size()) {}

    const std::uint8_t *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const std::uint8_t *begin() const noexcept { return data_; }
    const std::uint8_t *end() const noexcept { return data_ + size_; }
    std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }
    std::string_view str() const noexcept { return {reinterpret_cast<const char *>(data_), size_}; }
    std::vector<std::uint8_t> to_vector() const { return {begin(), end()}; }
    friend bool operator==(bytes_view a, bytes_view b) noexcept { return a.str() == b.str(); }
    friend bool operator!=(bytes_view a, bytes_view b) noexcept { return !(a == b); }

  private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
};

/* A caller-owned buffer the library writes into. */
class mutable_bytes {
  public:
    mutable_bytes(void *data, std::size_t size) noexcept : data_(static_cast<std::uint8_t *>(data)), size_(size) {}
    template <class C, class = std::enable_if_t<sizeof(*std::declval<C &>().data()) == 1 &&
                                                !std::is_const_v<std::remove_pointer_t<decltype(std::declval<C &>().data())>>>>
    mutable_bytes(C &c) noexcept : mutable_bytes(c.data(), c.size()) {}
    std::uint8_t *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

  private:
    std::uint8_t *data_;
    std::size_t size_;
};

/* A NUL-terminated path/prefix argument: borrows a C string or std::string, copies a string_view. */
class path_arg {
  public:
    path_arg(const char *s) noexcept : p_(s) {}
    path_arg(const std::string &s) noexcept : p_(s.c_str()) {}
    path_arg(std::string_view s) : own_(s), p_(own_.c_str()) {}
    path_arg(const path_arg &) = delete;
    path_arg &operator=(const path_arg &) = delete;
    const char *c_str() const noexcept { return p_; }

  private:
    std::string own_;
    const char *p_;
};

using stream_info = buffdb_stream_info;
using blob_info = buffdb_blob_info;
using db_stats = buffdb_db_stats;

/* ---- options --------------------------------------------------------------------- */

/* Open options; unset fields keep the library's defaults (docs/c.md). */
struct options {
    std::optional<bool> create, read_only, compression, verify_checksums;
    std::optional<std::size_t> chunk_size, cache_size;
    std::optional<std::uint32_t> versions_to_keep, page_size;
    std::optional<std::uint64_t> max_document_size, busy_timeout_ms;
    std::optional<std::string> durability; // "full", "normal" or "none"
};

/* ---- handles ----------------------------------------------------------------------- */

namespace detail {
template <class T, void (*Free)(T *)> class owned {
  public:
    owned() noexcept = default;
    explicit owned(T *p) noexcept : p_(p) {}
    owned(owned &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    owned &operator=(owned &&o) noexcept {
        if (this != &o) reset(std::exchange(o.p_, nullptr));
        return *this;
    }
    owned(const owned &) = delete;
    owned &operator=(const owned &) = delete;
    ~owned() { reset(); }
    void reset(T *p = nullptr) noexcept {
        if (p_) Free(p_);
        p_ = p;
    }
    T *get() const noexcept { return p_; }
    T *release() noexcept { return std::exchange(p_, nullptr); }
    explicit operator bool() const noexcept { return p_ != nullptr; }

  private:
    T *p_ = nullptr;
};

inline void close_db(buffdb_db *db) { (void)buffdb_close(db); }
} // namespace detail

/* A stream version or blob being read: position, seek, ranges, zero-copy chunks. */
class reader {
  public:
    reader() noexcept = default;
    explicit reader(buffdb_reader *r) noexcept : h_(r) {}
    buffdb_reader *handle() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }

    /* Fills `buf` from the position unless the end comes first; 0 at the end. */
    std::size_t read(mutable_bytes buf, status_out out BUFFDB_HPP_EC) {
        std::size_t n = 0;
        return out(buffdb_reader_read(h_.get(), buf.data(), buf.size(), &n)) ? n : 0;
    }
    /* Reads at `offset` without moving the position. */
    std::size_t read_at(std::uint64_t offset, mutable_bytes buf, status_out out BUFFDB_HPP_EC) {
        std::size_t n = 0;
        return out(buffdb_reader_read_at(h_.get(), offset, buf.data(), buf.size(), &n)) ? n : 0;
    }
    /* The rest of the data from the position. */
    std::vector<std::uint8_t> read_all(status_out out BUFFDB_HPP_EC) {
        std::vector<std::uint8_t> v;
        std::uint64_t total = size(out), pos = tell(out);
        if (pos < total) v.resize(std::size_t(total - pos));
        std::size_t n = v.empty() ? 0 : read(v, out);
        v.resize(n);
        return v;
    }
    std::uint64_t seek(std::uint64_t pos, status_out out BUFFDB_HPP_EC) {
        std::uint64_t p = 0;
        return out(buffdb_reader_seek(h_.get(), pos, &p)) ? p : 0;
    }
    std::uint64_t tell(status_out out BUFFDB_HPP_EC) const {
        std::uint64_t p = 0;
        return out(buffdb_reader_tell(h_.get(), &p)) ? p : 0;
    }
    std::uint64_t size(status_out out BUFFDB_HPP_EC) const {
        std::uint64_t s = 0;
        return out(buffdb_reader_size(h_.get(), &s)) ? s : 0;
    }
    stream_info info(status_out out BUFFDB_HPP_EC) const {
        stream_info i{};
        out(buffdb_reader_info(h_.get(), &i));
        return i;
    }

    /* Range-for over the chunks from the position, without copying:
     *   for (buffdb::bytes_view piece : r.chunks()) upload(piece); */
    class chunk_range {
      public:
        class iterator {
          public:
            using iterator_category = std::input_iterator_tag;
            using value_type = bytes_view;
            using difference_type = std::ptrdiff_t;
            using pointer = const bytes_view *;
            using reference = const bytes_view &;
            iterator() noexcept = default;
            explicit iterator(chunk_range *r) : r_(r) { ++*this; }
            reference operator*() const noexcept { return cur_; }
            pointer operator->() const noexcept { return &cur_; }
            iterator &operator++() {
                const std::uint8_t *d = nullptr;
                std::size_t n = 0;
                if (!r_->out_(buffdb_reader_next_chunk(r_->r_, &d, &n)) || d == nullptr) r_ = nullptr;
                else cur_ = bytes_view(d, n);
                return *this;
            }
            friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.r_ == b.r_; }
            friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.r_ != b.r_; }

          private:
            chunk_range *r_ = nullptr;
            bytes_view cur_;
        };
        chunk_range(buffdb_reader *r, status_out out) noexcept : r_(r), out_(out) {}
        iterator begin() { return iterator(this); }
        iterator end() noexcept { return {}; }

      private:
        buffdb_reader *r_;
        status_out out_;
    };
    chunk_range chunks(status_out out BUFFDB_HPP_EC) noexcept { return {h_.get(), out}; }

  private:
    detail::owned<buffdb_reader, buffdb_reader_free> h_;
};

/* A new stream version being written: nothing is visible before commit(); the
 * destructor aborts a writer that was not committed. */
class writer {
  public:
    writer() noexcept = default;
    explicit writer(buffdb_writer *w) noexcept : h_(w) {}
    buffdb_writer *handle() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }

    bool write(bytes_view data, status_out out BUFFDB_HPP_EC) {
        return out(buffdb_writer_write(h_.get(), data.data(), data.size()));
    }
    std::uint64_t written(status_out out BUFFDB_HPP_EC) const {
        std::uint64_t n = 0;
        return out(buffdb_writer_written(h_.get(), &n)) ? n : 0;
    }
    stream_info commit(status_out out BUFFDB_HPP_EC) {
        stream_info i{};
        out(buffdb_writer_commit(h_.get(), &i));
        return i;
    }
    bool abort(status_out out BUFFDB_HPP_EC) { return out(buffdb_writer_abort(h_.get())); }

  private:
    detail::owned<buffdb_writer, buffdb_writer_free> h_;
};

/* A step-by-step cursor usable in range-for; Raw is the C cursor, Row what a step yields. */
namespace detail {
template <class Raw, void (*Free)(Raw *), class Row, class Step> class cursor {
  public:
    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Row;
        using difference_type = std::ptrdiff_t;
        using pointer = const Row *;
        using reference = const Row &;
        iterator() noexcept = default;
        explicit iterator(cursor *c) : c_(c) { ++*this; }
        reference operator*() const noexcept { return row_; }
        pointer operator->() const noexcept { return &row_; }
        iterator &operator++() {
            if (!Step()(c_->h_.get(), c_->out_, row_)) c_ = nullptr;
            return *this;
        }
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.c_ == b.c_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return a.c_ != b.c_; }

      private:
        cursor *c_ = nullptr;
        Row row_{};
    };

    cursor() noexcept = default;
    cursor(Raw *raw, status_out out) noexcept : h_(raw), out_(out) {}
    Raw *handle() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }
    /* One pass: the cursor advances as the loop does. */
    iterator begin() { return h_ ? iterator(this) : iterator(); }
    iterator end() noexcept { return {}; }
    /* The next row, or nothing at the end (or on an error reported through the cursor's status). */
    std::optional<Row> next() {
        Row row{};
        if (!h_ || !Step()(h_.get(), out_, row)) return std::nullopt;
        return row;
    }

  private:
    owned<Raw, Free> h_;
    status_out out_;
};
} // namespace detail

/* A KV row: views into the cursor, valid until its next step. */
struct kv_row {
    bytes_view key, value;
};

namespace detail {
struct kv_step {
    bool operator()(buffdb_kv_cursor *c, const status_out &out, kv_row &row) const {
        const std::uint8_t *k = nullptr, *v = nullptr;
        std::size_t kl = 0, vl = 0;
        if (!out(buffdb_kv_cursor_next(c, &k, &kl, &v, &vl)) || k == nullptr) return false;
        row = kv_row{bytes_view(k, kl), bytes_view(v, vl)};
        return true;
    }
};
struct path_step {
    bool operator()(buffdb_search_cursor *c, const status_out &out, std::string_view &row) const {
        const char *p = nullptr;
        std::size_t n = 0;
        if (!out(buffdb_search_next(c, &p, &n)) || p == nullptr) return false;
        row = std::string_view(p, n);
        return true;
    }
};
} // namespace detail

/* KV rows in key order: for (auto [key, value] : db.scan("prefix")) */
using kv_cursor = detail::cursor<buffdb_kv_cursor, buffdb_kv_cursor_free, kv_row, detail::kv_step>;
/* Stream paths in byte order: for (std::string_view path : db.search("/textures/")) */
using search_cursor = detail::cursor<buffdb_search_cursor, buffdb_search_cursor_free, std::string_view, detail::path_step>;

/* ---- the operations, written once for a database and a transaction ---------------- */

namespace detail {
template <class H> struct api;
#define BUFFDB_HPP_OPS(X)                                                                          \
    X(get_alloc) X(get) X(put) X(contains) X(count) X(scan) X(keys) X(stream_write) X(stream_read)   \
    X(stream_read_alloc) X(stream_read_range) X(stream_open) X(stream_open_version) X(stream_stat)  \
    X(stream_exists) X(stream_delete) X(stream_writer) X(stream_writer_compressed) X(search)        \
    X(search_count) X(blob_put) X(blob_get_alloc) X(blob_delete) X(blob_open) X(blob_stat)
template <> struct api<buffdb_db> {
#define BUFFDB_HPP_X(name) static constexpr auto name = &::buffdb_##name;
    BUFFDB_HPP_OPS(BUFFDB_HPP_X)
#undef BUFFDB_HPP_X
    static constexpr auto erase = &::buffdb_delete;
};
template <> struct api<buffdb_txn> {
#define BUFFDB_HPP_X(name) static constexpr auto name = &::buffdb_txn_##name;
    BUFFDB_HPP_OPS(BUFFDB_HPP_X)
#undef BUFFDB_HPP_X
    static constexpr auto erase = &::buffdb_txn_delete;
};
#undef BUFFDB_HPP_OPS

/* Takes library-allocated bytes into a vector (and frees them). */
inline std::vector<std::uint8_t> take(std::uint8_t *data, std::size_t len) {
    std::vector<std::uint8_t> v(data, data + len);
    buffdb_bytes_free(data, len);
    return v;
}
} // namespace detail

/* KV, blob, stream and search operations over a handle H (buffdb_db or buffdb_txn). */
template <class Self, class H> class ops {
    using api = detail::api<H>;
    const H *h() const noexcept { return static_cast<const Self *>(this)->handle(); }

  public:
    /* The value of `key`, or nothing when it is missing (not an error). */
    std::optional<std::vector<std::uint8_t>> get(bytes_view key, status_out out BUFFDB_HPP_EC) const {
        std::uint8_t *v = nullptr;
        std::size_t n = 0;
        buffdb_status st = api::get_alloc(h(), key.data(), key.size(), &v, &n);
        if (st == BUFFDB_NOT_FOUND) {
            out(BUFFDB_OK); // a missing key is no error
            return std::nullopt;
        }
        if (!out(st)) return std::nullopt;
        return detail::take(v, n);
    }
    /* Copies the value into `buf` and gives its length (nothing when missing); a
     * buffer that is too small is BUFFDB_BUFFER_TOO_SMALL. No allocation. */
    std::optional<std::size_t> get_into(bytes_view key, mutable_bytes buf, status_out out BUFFDB_HPP_EC) const {
        std::size_t n = 0;
        buffdb_status st = api::get(h(), key.data(), key.size(), buf.data(), buf.size(), &n);
        if (st == BUFFDB_NOT_FOUND) {
            out(BUFFDB_OK); // a missing key is no error
            return std::nullopt;
        }
        if (!out(st)) return std::nullopt;
        return n;
    }
    bool put(bytes_view key, bytes_view value, status_out out BUFFDB_HPP_EC) const {
        return out(api::put(h(), key.data(), key.size(), value.data(), value.size()));
    }
    /* Deletes `key`; true when it existed. */
    bool erase(bytes_view key, status_out out BUFFDB_HPP_EC) const {
        bool existed = false;
        return out(api::erase(h(), key.data(), key.size(), &existed)) && existed;
    }
    bool contains(bytes_view key, status_out out BUFFDB_HPP_EC) const {
        bool yes = false;
        return out(api::contains(h(), key.data(), key.size(), &yes)) && yes;
    }
    std::uint64_t count(bytes_view prefix, status_out out BUFFDB_HPP_EC) const {
        std::uint64_t n = 0;
        return out(api::count(h(), prefix.data(), prefix.size(), &n)) ? n : 0;
    }
    /* Rows whose key starts with `prefix`, in key order (lazy). */
    kv_cursor scan(bytes_view prefix, status_out out BUFFDB_HPP_EC) const {
        buffdb_kv_cursor *c = nullptr;
        if (!out(api::scan(h(), prefix.data(), prefix.size(), nullptr, 0, BUFFDB_NO_LIMIT, &c))) return {};
        return {c, out};
    }
    /* Keys only (row values are empty). */
    kv_cursor keys(bytes_view prefix, status_out out BUFFDB_HPP_EC) const {
        buffdb_kv_cursor *c = nullptr;
        if (!out(api::keys(h(), prefix.data(), prefix.size(), nullptr, 0, BUFFDB_NO_LIMIT, &c))) return {};
        return {c, out};
    }

    stream_info stream_write(const path_arg &path, bytes_view data, status_out out BUFFDB_HPP_EC) const {
        stream_info i{};
        out(api::stream_write(h(), path.c_str(), data.data(), data.size(), &i));
        return i;
    }
    /* The newest version's bytes (BUFFDB_NOT_FOUND when missing). */
    std::vector<std::uint8_t> stream_read(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        std::uint8_t *d = nullptr;
        std::size_t n = 0;
        if (!out(api::stream_read_alloc(h(), path.c_str(), &d, &n))) return {};
        return detail::take(d, n);
    }
    /* Copies the newest version into `buf`; gives its size. No allocation. */
    std::size_t stream_read_into(const path_arg &path, mutable_bytes buf, status_out out BUFFDB_HPP_EC) const {
        std::size_t n = 0;
        return out(api::stream_read(h(), path.c_str(), buf.data(), buf.size(), &n)) ? n : 0;
    }
    /* Up to buf.size() bytes at `offset` (fewer at the end). */
    std::size_t stream_read_range(const path_arg &path, std::uint64_t offset, mutable_bytes buf,
                                  status_out out BUFFDB_HPP_EC) const {
        std::size_t n = 0;
        return out(api::stream_read_range(h(), path.c_str(), offset, buf.data(), buf.size(), &n)) ? n : 0;
    }
    reader stream_open(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        buffdb_reader *r = nullptr;
        return out(api::stream_open(h(), path.c_str(), &r)) ? reader(r) : reader();
    }
    reader stream_open(const path_arg &path, std::uint64_t version, status_out out BUFFDB_HPP_EC) const {
        buffdb_reader *r = nullptr;
        return out(api::stream_open_version(h(), path.c_str(), version, &r)) ? reader(r) : reader();
    }
    stream_info stream_stat(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        stream_info i{};
        out(api::stream_stat(h(), path.c_str(), &i));
        return i;
    }
    bool stream_exists(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        bool yes = false;
        return out(api::stream_exists(h(), path.c_str(), &yes)) && yes;
    }
    /* Deletes every version; true when the stream existed. */
    bool stream_delete(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        bool existed = false;
        return out(api::stream_delete(h(), path.c_str(), &existed)) && existed;
    }
    writer stream_writer(const path_arg &path, status_out out BUFFDB_HPP_EC) const {
        buffdb_writer *w = nullptr;
        return out(api::stream_writer(h(), path.c_str(), &w)) ? writer(w) : writer();
    }
    /* A writer with compression on or off for this write only. */
    writer stream_writer(const path_arg &path, bool compression, status_out out BUFFDB_HPP_EC) const {
        buffdb_writer *w = nullptr;
        return out(api::stream_writer_compressed(h(), path.c_str(), compression, &w)) ? writer(w) : writer();
    }
    /* Stream paths starting with `prefix`, in byte order (lazy). */
    search_cursor search(const path_arg &prefix, status_out out BUFFDB_HPP_EC) const {
        buffdb_search_cursor *c = nullptr;
        if (!out(api::search(h(), prefix.c_str(), nullptr, BUFFDB_NO_LIMIT, &c))) return {};
        return {c, out};
    }
    std::uint64_t search_count(const path_arg &prefix, status_out out BUFFDB_HPP_EC) const {
        std::uint64_t n = 0;
        return out(api::search_count(h(), prefix.c_str(), &n)) ? n : 0;
    }

    /* A new blob (metadata: nullptr = none); gives its id. */
    std::uint64_t blob_put(bytes_view data, const char *metadata, status_out out BUFFDB_HPP_EC) const {
        std::uint64_t id = 0;
        return out(api::blob_put(h(), data.data(), data.size(), metadata, &id)) ? id : 0;
    }
    std::vector<std::uint8_t> blob_get(std::uint64_t id, status_out out BUFFDB_HPP_EC) const {
        std::uint8_t *d = nullptr;
        std::size_t n = 0;
        if (!out(api::blob_get_alloc(h(), id, &d, &n))) return {};
        return detail::take(d, n);
    }
    bool blob_delete(std::uint64_t id, status_out out BUFFDB_HPP_EC) const {
        bool existed = false;
        return out(api::blob_delete(h(), id, &existed)) && existed;
    }
    reader blob_open(std::uint64_t id, status_out out BUFFDB_HPP_EC) const {
        buffdb_reader *r = nullptr;
        return out(api::blob_open(h(), id, &r)) ? reader(r) : reader();
    }
    blob_info blob_stat(std::uint64_t id, status_out out BUFFDB_HPP_EC) const {
        blob_info i{};
        out(api::blob_stat(h(), id, &i));
        return i;
    }
};

/* A transaction: every operation of ops<> inside it; rolled back by the destructor
 * unless committed. Its cursors, readers and writers end with it. */
class txn : public ops<txn, buffdb_txn> {
  public:
    txn() noexcept = default;
    explicit txn(buffdb_txn *t) noexcept : h_(t) {}
    buffdb_txn *handle() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }
    bool commit(status_out out BUFFDB_HPP_EC) { return out(buffdb_txn_commit(h_.get())); }
    bool rollback(status_out out BUFFDB_HPP_EC) { return out(buffdb_txn_rollback(h_.get())); }

  private:
    detail::owned<buffdb_txn, buffdb_txn_free> h_;
};

/* An open database (closed by the destructor). Thread-safe like buffdb_db. */
class db : public ops<db, buffdb_db> {
  public:
    db() noexcept = default;
    /* Opens (or creates) `path`; ":memory:" is a private in-memory database. */
    explicit db(const path_arg &path, status_out out BUFFDB_HPP_EC) : db(path, options(), out) {}
    db(const path_arg &path, const options &opts, status_out out BUFFDB_HPP_EC) {
        buffdb_options *o = nullptr;
        if (!out(buffdb_options_new(&o))) return;
        detail::owned<buffdb_options, buffdb_options_free> guard(o);
        buffdb_status st = apply(o, opts);
        buffdb_db *raw = nullptr;
        if (st == BUFFDB_OK) st = buffdb_open(path.c_str(), o, &raw);
        if (out(st)) h_.reset(raw);
    }
    /* Takes ownership of a handle from buffdb_open. */
    explicit db(buffdb_db *raw) noexcept : h_(raw) {}
    buffdb_db *handle() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }

    /* Begins a transaction (waits for the writer; BUFFDB_BUSY after the busy timeout). */
    txn begin(status_out out BUFFDB_HPP_EC) const {
        buffdb_txn *t = nullptr;
        return out(buffdb_begin(h_.get(), &t)) ? txn(t) : txn();
    }
    bool checkpoint(status_out out BUFFDB_HPP_EC) const { return out(buffdb_checkpoint(h_.get())); }
    db_stats stats(status_out out BUFFDB_HPP_EC) const {
        db_stats s{};
        out(buffdb_stats(h_.get(), &s));
        return s;
    }
    /* Closes now and reports how that went (the destructor closes silently). */
    bool close(status_out out BUFFDB_HPP_EC) { return out(buffdb_close(h_.release())); }

  private:
    static buffdb_status apply(buffdb_options *o, const options &x) {
        buffdb_status st = BUFFDB_OK;
        auto set = [&](buffdb_status s) {
            if (st == BUFFDB_OK) st = s;
        };
        if (x.create) set(buffdb_options_set_create(o, *x.create));
        if (x.read_only) set(buffdb_options_set_read_only(o, *x.read_only));
        if (x.compression) set(buffdb_options_set_compression(o, *x.compression));
        if (x.verify_checksums) set(buffdb_options_set_verify_checksums(o, *x.verify_checksums));
        if (x.chunk_size) set(buffdb_options_set_chunk_size(o, *x.chunk_size));
        if (x.cache_size) set(buffdb_options_set_cache_size(o, *x.cache_size));
        if (x.versions_to_keep) set(buffdb_options_set_versions_to_keep(o, *x.versions_to_keep));
        if (x.page_size) set(buffdb_options_set_page_size(o, *x.page_size));
        if (x.max_document_size) set(buffdb_options_set_max_document_size(o, *x.max_document_size));
        if (x.busy_timeout_ms) set(buffdb_options_set_busy_timeout_ms(o, *x.busy_timeout_ms));
        if (x.durability) set(buffdb_options_set_durability(o, x.durability->c_str()));
        return st;
    }
    detail::owned<buffdb_db, detail::close_db> h_;
};

} // namespace buffdb

#undef BUFFDB_HPP_EC
#endif /* BUFFDB_HPP */

// Tests of include/buffdb.hpp, built twice by scripts/test-c.sh: with exceptions and with
// -fno-exceptions (then only the std::error_code forms exist), both under ASan + UBSan.
// Usage: test_hpp IGNORED DIR   (prints "ok"/"FAIL" lines and "N passed, M failed")
#include <buffdb.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static int passed = 0, failed = 0;
#define CHECK(name, ...)                                                                    \
    do {                                                                                     \
        if (__VA_ARGS__) {                                                                          \
            passed++;                                                                        \
            std::printf("ok   %s\n", name);                                                  \
        } else {                                                                             \
            failed++;                                                                        \
            std::printf("FAIL %s (%s:%d: %s)\n", name, __FILE__, __LINE__, #__VA_ARGS__);           \
        }                                                                                    \
    } while (0)

using buffdb::bytes_view;

static std::string str(const std::vector<std::uint8_t> &v) { return {v.begin(), v.end()}; }

// Every call in the error_code form: compiles and works in both builds.
static void test_error_code_forms(const std::string &dir) {
    std::error_code ec;
    buffdb::db db(dir + "/ec.bdb", buffdb::options{}, ec);
    CHECK("ec: open", !ec && db);

    db.put("player:hp", "42", ec);
    db.put("player:name", std::string("Ada"), ec);
    db.put(std::vector<std::uint8_t>{'z'}, bytes_view("\0\1", 2), ec);
    CHECK("ec: put from string_view, std::string, vector", !ec);
    auto hp = db.get("player:hp", ec);
    CHECK("ec: get", !ec && hp && str(*hp) == "42");
    auto missing = db.get("nope", ec);
    CHECK("ec: get of a missing key is nothing, not an error", !ec && !missing);

    std::array<std::uint8_t, 2> small{};
    auto n = db.get_into("player:name", small, ec);
    CHECK("ec: get_into a too-small buffer gives BUFFER_TOO_SMALL", ec == buffdb::make_error_code(BUFFDB_BUFFER_TOO_SMALL) && !n);
    CHECK("ec: error category is buffdb, message is the status name",
          std::string(ec.category().name()) == "buffdb" && ec.message() == "BUFFER_TOO_SMALL");
    std::array<std::uint8_t, 16> big{};
    n = db.get_into("player:name", big, ec);
    CHECK("ec: get_into a caller buffer", !ec && n && *n == 3 && std::memcmp(big.data(), "Ada", 3) == 0);
    CHECK("ec: contains / count", db.contains("player:hp", ec) && !db.contains("x", ec) && db.count("player:", ec) == 2);

    std::vector<std::string> keys;
    for (auto [key, value] : db.scan("player:", ec)) keys.push_back(std::string(key.str()) + "=" + std::string(value.str()));
    CHECK("ec: range-for over scan with structured bindings",
          !ec && keys == std::vector<std::string>{"player:hp=42", "player:name=Ada"});
    std::size_t k = 0;
    for (const buffdb::kv_row &row : db.keys("", ec)) k += row.value.empty() ? 1 : 100;
    CHECK("ec: keys() yields keys with empty values", !ec && k == 3);
    CHECK("ec: erase says whether the key existed", db.erase("player:hp", ec) && !db.erase("player:hp", ec) && !ec);

    // streams
    std::vector<std::uint8_t> tex(300000);
    for (std::size_t i = 0; i < tex.size(); i++) tex[i] = std::uint8_t(i * 7 + 3);
    auto info = db.stream_write("/textures/a.rgba", tex, ec);
    CHECK("ec: stream_write", !ec && info.size == tex.size() && info.version == 1);
    CHECK("ec: stream_read", db.stream_read("/textures/a.rgba", ec) == tex && !ec);
    std::vector<std::uint8_t> buf(tex.size());
    CHECK("ec: stream_read_into", db.stream_read_into("/textures/a.rgba", buf, ec) == tex.size() && buf == tex);
    std::array<std::uint8_t, 64> range{};
    CHECK("ec: stream_read_range", db.stream_read_range("/textures/a.rgba", 1000, range, ec) == 64 &&
                                       std::memcmp(range.data(), tex.data() + 1000, 64) == 0);
    CHECK("ec: stream_read_range at the end is short",
          db.stream_read_range(std::string_view("/textures/a.rgba"), tex.size() - 10, range, ec) == 10);

    buffdb::reader r = db.stream_open("/textures/a.rgba", ec);
    CHECK("ec: reader size/tell", !ec && r.size(ec) == tex.size() && r.tell(ec) == 0);
    std::array<std::uint8_t, 100> piece{};
    r.seek(5000, ec);
    CHECK("ec: reader seek + read", r.read(piece, ec) == 100 && std::memcmp(piece.data(), tex.data() + 5000, 100) == 0 &&
                                       r.tell(ec) == 5100);
    CHECK("ec: reader read_at keeps the position", r.read_at(7, piece, ec) == 100 &&
                                                       std::memcmp(piece.data(), tex.data() + 7, 100) == 0 && r.tell(ec) == 5100);
    r.seek(0, ec);
    std::vector<std::uint8_t> joined;
    for (bytes_view chunk : r.chunks(ec)) joined.insert(joined.end(), chunk.begin(), chunk.end());
    CHECK("ec: range-for over reader chunks (zero-copy)", !ec && joined == tex);
    r.seek(tex.size() - 3, ec);
    CHECK("ec: reader read_all from the position", r.read_all(ec).size() == 3 && r.info(ec).version == 1);

    buffdb::writer w = db.stream_writer("/sounds/wind.wav", ec);
    w.write("RIFF", ec);
    w.write(std::string(1000, 'x'), ec);
    CHECK("ec: writer written", w.written(ec) == 1004);
    CHECK("ec: nothing visible before commit", !db.stream_exists("/sounds/wind.wav", ec));
    auto winfo = w.commit(ec);
    CHECK("ec: writer commit", !ec && winfo.size == 1004 && db.stream_exists("/sounds/wind.wav", ec));
    w.write("more", ec);
    CHECK("ec: a committed writer gives CLOSED", ec == buffdb::make_error_code(BUFFDB_CLOSED));
    {
        buffdb::writer aborted = db.stream_writer("/sounds/none.wav", true, ec);
        aborted.write("data", ec);
    } // destructor aborts
    CHECK("ec: a writer dropped without commit leaves nothing", !db.stream_exists("/sounds/none.wav", ec) && !ec);

    std::vector<std::string> paths;
    for (std::string_view p : db.search("/", ec)) paths.emplace_back(p);
    CHECK("ec: range-for over search", !ec && paths == std::vector<std::string>{"/sounds/wind.wav", "/textures/a.rgba"});
    CHECK("ec: search_count", db.search_count("/textures/", ec) == 1);
    auto cur = db.search("/t", ec);
    auto first = cur.next();
    CHECK("ec: cursor next()", first && *first == "/textures/a.rgba" && !cur.next());

    // errors
    auto none = db.stream_read("/missing", ec);
    CHECK("ec: stream_read of a missing path gives NOT_FOUND", ec == buffdb::make_error_code(BUFFDB_NOT_FOUND) && none.empty());
    db.search("/bad\xff", ec);
    CHECK("ec: invalid UTF-8 prefix gives INVALID_ARGUMENT", ec.value() == BUFFDB_INVALID_ARGUMENT);
    db.stream_stat("/textures/a.rgba", ec);
    CHECK("ec: success clears the error_code", !ec);

    // blobs
    auto id = db.blob_put("icon", "icon.png", ec);
    CHECK("ec: blob put/get/stat", id > 0 && str(db.blob_get(id, ec)) == "icon" && db.blob_stat(id, ec).size == 4);
    CHECK("ec: blob reader", str(db.blob_open(id, ec).read_all(ec)) == "icon" && db.blob_delete(id, ec));

    // transactions
    {
        buffdb::txn t = db.begin(ec);
        t.put("save:1", "world", ec);
        t.stream_write("/saves/1.png", "png", ec);
        CHECK("ec: a transaction sees its own writes", t.contains("save:1", ec) && str(t.stream_read("/saves/1.png", ec)) == "png");
        CHECK("ec: others do not see them before commit", !db.contains("save:1", ec));
        auto tcur = t.scan("save:", ec);
        CHECK("ec: commit", t.commit(ec) && !ec);
        std::size_t rows = 0;
        for (auto row : tcur) rows += row.key.size();
        CHECK("ec: a cursor of a committed transaction reports CLOSED while iterating",
              rows == 0 && ec == buffdb::make_error_code(BUFFDB_CLOSED));
    }
    CHECK("ec: committed writes are visible", db.contains("save:1", ec) && str(db.stream_read("/saves/1.png", ec)) == "png");
    {
        buffdb::txn t = db.begin(ec);
        t.put("save:2", "x", ec);
        buffdb::writer tw = t.stream_writer("/saves/2.png", ec);
        tw.write("y", ec);
        tw.commit(ec);
    } // destructor rolls back
    CHECK("ec: a transaction dropped without commit leaves nothing",
          !db.contains("save:2", ec) && !db.stream_exists("/saves/2.png", ec) && !ec);
    buffdb::txn t2 = db.begin(ec);
    t2.put("save:3", "z", ec);
    t2.rollback(ec);
    t2.put("save:3", "z", ec);
    CHECK("ec: a rolled-back transaction gives CLOSED", ec.value() == BUFFDB_CLOSED && !db.contains("save:3", ec));

    // move semantics and close
    buffdb::db moved = std::move(db);
    CHECK("ec: a moved database works, the source is empty", !db && moved.count("", ec) == 3);
    auto st = moved.stats(ec);
    CHECK("ec: stats", !ec && st.stream_count == 3);
    CHECK("ec: close", moved.close(ec) && !moved);

    buffdb::options ro;
    ro.read_only = true;
    ro.create = false;
    buffdb::db again(dir + "/ec.bdb", ro, ec);
    again.put("k", "v", ec);
    CHECK("ec: options (read_only) reach the engine", ec.value() == BUFFDB_READ_ONLY);
    buffdb::db none_db(dir + "/absent.bdb", ro, ec);
    CHECK("ec: open of a missing file with create=false fails", ec && !none_db);
}

#if BUFFDB_HPP_EXCEPTIONS
// The throwing forms (exceptions builds only).
static void test_exceptions(const std::string &dir) {
    buffdb::db db(dir + "/exc.bdb");
    db.put("a", "1");
    CHECK("exc: put/get without error_code", str(db.get("a").value()) == "1");
    try {
        db.stream_read("/missing");
        CHECK("exc: stream_read of a missing path throws", false);
    } catch (const buffdb::error &e) {
        CHECK("exc: buffdb::error carries the status", e.status() == BUFFDB_NOT_FOUND && e.code() == buffdb::make_error_code(BUFFDB_NOT_FOUND));
        CHECK("exc: what() holds the engine's message", std::string(e.what()).find("NOT_FOUND") != std::string::npos);
    }
    try {
        db.search("/\xff");
        CHECK("exc: invalid UTF-8 throws", false);
    } catch (const std::system_error &e) {
        CHECK("exc: catchable as std::system_error", e.code().value() == BUFFDB_INVALID_ARGUMENT);
    }
    buffdb::txn t = db.begin();
    t.stream_write("/x", "data");
    auto cur = t.search("/");
    t.commit();
    bool threw = false;
    try {
        for (std::string_view p : cur) (void)p;
    } catch (const buffdb::error &e) {
        threw = e.status() == BUFFDB_CLOSED;
    }
    CHECK("exc: iterating a cursor of a committed transaction throws CLOSED", threw);
    std::error_code ec;
    db.get("a", ec);
    CHECK("exc: error_code forms still never throw", !ec);
    try {
        buffdb::db bad(dir); // a directory is not a database
        CHECK("exc: opening a directory throws", false);
    } catch (const buffdb::error &e) {
        CHECK("exc: opening a directory throws", e.status() != BUFFDB_OK);
    }
}
#endif

int main(int argc, char **argv) {
    std::string dir = argc > 2 ? argv[2] : ".";
    test_error_code_forms(dir);
#if BUFFDB_HPP_EXCEPTIONS
    test_exceptions(dir);
    std::printf("(built with exceptions)\n");
#else
    std::printf("(built with -fno-exceptions)\n");
#endif
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

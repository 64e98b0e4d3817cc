// A game-engine style asset loader in C++17: textures are found by path prefix and
// streamed into buffers the engine owns (one reusable staging buffer, no allocation per
// asset once it is big enough). The C handles are wrapped in RAII types.
// Usage: asset_loader [DB-FILE]
#include <buffdb.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Error : std::runtime_error {
    buffdb_status status;
    Error(buffdb_status st, const std::string &what)
        : std::runtime_error(what + ": " + buffdb_last_error_message()), status(st) {}
};

void check(buffdb_status st, const char *what) {
    if (st != BUFFDB_OK) throw Error(st, what);
}

struct DbDeleter { void operator()(buffdb_db *db) const { buffdb_close(db); } };
struct ReaderDeleter { void operator()(buffdb_reader *r) const { buffdb_reader_free(r); } };
struct SearchDeleter { void operator()(buffdb_search_cursor *c) const { buffdb_search_cursor_free(c); } };
using Db = std::unique_ptr<buffdb_db, DbDeleter>;
using Reader = std::unique_ptr<buffdb_reader, ReaderDeleter>;
using Search = std::unique_ptr<buffdb_search_cursor, SearchDeleter>;

struct Texture {
    std::string path;
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> pixels; // the engine's memory
};

class AssetStore {
  public:
    explicit AssetStore(const char *file) {
        buffdb_db *raw = nullptr;
        check(buffdb_open(file, nullptr, &raw), "open");
        db_.reset(raw);
    }

    void add_texture(const std::string &path, uint32_t w, uint32_t h, uint8_t seed) {
        std::vector<uint8_t> data(8 + size_t(w) * h * 4);
        std::memcpy(data.data(), &w, 4);
        std::memcpy(data.data() + 4, &h, 4);
        for (size_t i = 8; i < data.size(); i++) data[i] = uint8_t(seed + i);
        check(buffdb_stream_write(db_.get(), path.c_str(), data.data(), data.size(), nullptr), "stream_write");
    }

    // Every texture under `prefix`, read through a reader into the staging buffer.
    std::vector<Texture> load_all(const char *prefix) {
        std::vector<Texture> out;
        buffdb_search_cursor *raw = nullptr;
        check(buffdb_search(db_.get(), prefix, nullptr, BUFFDB_NO_LIMIT, &raw), "search");
        Search cursor(raw);
        for (;;) {
            const char *path = nullptr;
            size_t len = 0;
            check(buffdb_search_next(cursor.get(), &path, &len), "search_next");
            if (!path) break;
            out.push_back(load(std::string(path, len)));
        }
        return out;
    }

  private:
    Texture load(const std::string &path) {
        buffdb_reader *raw = nullptr;
        check(buffdb_stream_open(db_.get(), path.c_str(), &raw), "stream_open");
        Reader reader(raw);
        uint64_t size = 0;
        check(buffdb_reader_size(reader.get(), &size), "reader_size");
        if (staging_.size() < size) staging_.resize(size); // grows once, then reused
        size_t filled = 0;
        while (filled < size) {
            size_t n = 0;
            check(buffdb_reader_read(reader.get(), staging_.data() + filled, size - filled, &n), "reader_read");
            if (n == 0) break;
            filled += n;
        }
        if (filled != size || size < 8) throw std::runtime_error("short texture " + path);
        Texture t;
        t.path = path;
        std::memcpy(&t.width, staging_.data(), 4);
        std::memcpy(&t.height, staging_.data() + 4, 4);
        t.pixels.assign(staging_.begin() + 8, staging_.begin() + long(size));
        return t;
    }

    Db db_;
    std::vector<uint8_t> staging_;
};

} // namespace

int main(int argc, char **argv) {
    const char *file = argc > 1 ? argv[1] : "assets-example.bdb";
    try {
        AssetStore store(file);
        store.add_texture("/textures/grass.rgba", 64, 64, 1);
        store.add_texture("/textures/rock.rgba", 128, 32, 2);
        store.add_texture("/textures/sky.rgba", 256, 256, 3);
        store.add_texture("/sounds/wind.rgba", 4, 4, 4); // not a texture: not loaded

        auto textures = store.load_all("/textures/");
        for (const auto &t : textures)
            std::printf("loaded %-22s %4ux%-4u %zu bytes\n", t.path.c_str(), t.width, t.height, t.pixels.size());
        if (textures.size() != 3 || textures[2].width != 256 || textures[2].pixels.size() != 256u * 256 * 4 ||
            textures[0].pixels[0] != uint8_t(1 + 8))
            throw std::runtime_error("unexpected textures");

        // errors come back as statuses (here turned into exceptions)
        try {
            store.load_all("/textures/\xff");
            throw std::runtime_error("invalid UTF-8 accepted");
        } catch (const Error &e) {
            if (e.status != BUFFDB_INVALID_ARGUMENT) throw;
            std::printf("bad prefix -> %s\n", buffdb_status_str(e.status));
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "asset_loader: FAILED: %s\n", e.what());
        return 1;
    }
    std::printf("asset_loader: ok\n");
    return 0;
}

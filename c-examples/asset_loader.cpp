// A game-engine style asset loader in C++17 over buffdb.hpp: textures are found by path
// prefix and streamed into buffers the engine owns (one reusable staging buffer, no
// allocation per asset once it is big enough). Handles are RAII; errors are exceptions
// carrying the status (the std::error_code forms work under -fno-exceptions).
// Usage: asset_loader [DB-FILE]
#include <buffdb.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Texture {
    std::string path;
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> pixels; // the engine's memory
};

class AssetStore {
  public:
    explicit AssetStore(const char *file) : db_(file) {}

    void add_texture(const std::string &path, uint32_t w, uint32_t h, uint8_t seed) {
        std::vector<uint8_t> data(8 + size_t(w) * h * 4);
        std::memcpy(data.data(), &w, 4);
        std::memcpy(data.data() + 4, &h, 4);
        for (size_t i = 8; i < data.size(); i++) data[i] = uint8_t(seed + i);
        db_.stream_write(path, data);
    }

    // Every texture under `prefix`, read through a reader into the staging buffer.
    std::vector<Texture> load_all(const char *prefix) {
        std::vector<Texture> out;
        for (std::string_view path : db_.search(prefix)) out.push_back(load(std::string(path)));
        return out;
    }

  private:
    Texture load(const std::string &path) {
        buffdb::reader reader = db_.stream_open(path);
        uint64_t size = reader.size();
        if (staging_.size() < size) staging_.resize(size); // grows once, then reused
        size_t filled = reader.read(buffdb::mutable_bytes(staging_.data(), size)); // fills unless the end comes first
        if (filled != size || size < 8) throw std::runtime_error("short texture " + path);
        Texture t;
        t.path = path;
        std::memcpy(&t.width, staging_.data(), 4);
        std::memcpy(&t.height, staging_.data() + 4, 4);
        t.pixels.assign(staging_.begin() + 8, staging_.begin() + long(size));
        return t;
    }

    buffdb::db db_;
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

        // errors come back as buffdb::error carrying the status
        try {
            store.load_all("/textures/\xff");
            throw std::runtime_error("invalid UTF-8 accepted");
        } catch (const buffdb::error &e) {
            if (e.status() != BUFFDB_INVALID_ARGUMENT) throw;
            std::printf("bad prefix -> %s\n", buffdb_status_str(e.status()));
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "asset_loader: FAILED: %s\n", e.what());
        return 1;
    }
    std::printf("asset_loader: ok\n");
    return 0;
}

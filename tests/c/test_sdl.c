/* Tests of include/buffdb_sdl.h with the real SDL2, SDL2_image, SDL2_mixer (and PhysFS),
 * headless (SDL_VIDEODRIVER=dummy, SDL_AUDIODRIVER=dummy): a PNG, a BMP and a WAV made
 * here are stored in a database, then loaded through buffdb_sdl_rwops and through a
 * PhysFS mount of the database, and compared pixel by pixel / sample by sample with
 * loading the same files from disk. Also: seek/size/partial reads, and the writing
 * SDL_RWops (committed at close, nothing on a failed write).
 * Usage: test_sdl IGNORED WORKDIR   (prints ok/FAIL lines and "N passed, M failed") */
#define BUFFDB_SDL_IMPLEMENTATION
#define BUFFDB_SDL_WRITE_BUFFER (256 << 10) /* small, so the test crosses it */
#include <buffdb_sdl.h>
#define BUFFDB_PHYSFS_IMPLEMENTATION
#include <buffdb_physfs.h>

#include <SDL_image.h>
#include <SDL_mixer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAME_HARNESS_DETAIL() printf("     SDL: %s; buffdb: %s\n", SDL_GetError(), buffdb_last_error_message())
#include "game_harness.h"

/* ---- the assets, made here --------------------------------------------------------- */

static SDL_Surface *make_image(int w, int h) {
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGBA32);
    int x, y;
    for (y = 0; y < h; y++) {
        Uint8 *row = (Uint8 *)s->pixels + y * s->pitch;
        for (x = 0; x < w; x++) {
            row[4 * x + 0] = (Uint8)(x * 255 / w);
            row[4 * x + 1] = (Uint8)(y * 255 / h);
            row[4 * x + 2] = (Uint8)((x ^ y) & 0xff);
            row[4 * x + 3] = (Uint8)(255 - ((x + y) & 0x3f));
        }
    }
    return s;
}

static void put16(FILE *f, unsigned v) { fputc((int)(v & 0xff), f), fputc((int)(v >> 8), f); }
static void put32(FILE *f, unsigned v) { put16(f, v & 0xffff), put16(f, v >> 16); }

/* 16-bit stereo PCM at 44100 Hz: a deterministic saw/square mix. */
static void make_wav(const char *path, unsigned frames) {
    FILE *f = fopen(path, "wb");
    unsigned i;
    fwrite("RIFF", 1, 4, f);
    put32(f, 36 + frames * 4);
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16), put16(f, 1), put16(f, 2), put32(f, 44100), put32(f, 44100 * 4), put16(f, 4), put16(f, 16);
    fwrite("data", 1, 4, f);
    put32(f, frames * 4);
    for (i = 0; i < frames; i++) {
        put16(f, (unsigned)(short)((i * 331) % 20000 - 10000) & 0xffff);
        put16(f, (unsigned)(short)((i / 50) % 2 ? 8000 : -8000) & 0xffff);
    }
    fclose(f);
}

static void store_file(buffdb_db *db, const char *file, const char *path) {
    FILE *f = fopen(file, "rb");
    long n;
    unsigned char *b;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    buffdb_stream_write(db, path, b, (size_t)n, NULL);
    free(b);
}

/* ---- comparisons --------------------------------------------------------------------- */

static int same_pixels(SDL_Surface *a, SDL_Surface *b) {
    int y, ok;
    if (!a || !b || a->w != b->w || a->h != b->h || a->format->format != b->format->format) return 0;
    SDL_LockSurface(a), SDL_LockSurface(b);
    ok = 1;
    for (y = 0; ok && y < a->h; y++)
        ok = memcmp((Uint8 *)a->pixels + y * a->pitch, (Uint8 *)b->pixels + y * b->pitch, (size_t)(a->w * a->format->BytesPerPixel)) == 0;
    SDL_UnlockSurface(a), SDL_UnlockSurface(b);
    return ok;
}

static int same_samples(Mix_Chunk *a, Mix_Chunk *b) { return a && b && a->alen == b->alen && a->alen > 0 && memcmp(a->abuf, b->abuf, a->alen) == 0; }

/* An SDL_RWops over a PhysFS file (what engines using both write; PhysFS's extras have one). */
static Sint64 SDLCALL pfs_size(SDL_RWops *rw) { return PHYSFS_fileLength((PHYSFS_File *)rw->hidden.unknown.data1); }
static Sint64 SDLCALL pfs_seek(SDL_RWops *rw, Sint64 off, int whence) {
    PHYSFS_File *f = (PHYSFS_File *)rw->hidden.unknown.data1;
    Sint64 base = whence == RW_SEEK_SET ? 0 : whence == RW_SEEK_CUR ? PHYSFS_tell(f) : PHYSFS_fileLength(f);
    return PHYSFS_seek(f, (PHYSFS_uint64)(base + off)) ? base + off : -1;
}
static size_t SDLCALL pfs_read(SDL_RWops *rw, void *p, size_t size, size_t n) {
    PHYSFS_sint64 got = PHYSFS_readBytes((PHYSFS_File *)rw->hidden.unknown.data1, p, size * n);
    return got <= 0 ? 0 : (size_t)got / size;
}
static size_t SDLCALL pfs_write(SDL_RWops *rw, const void *p, size_t size, size_t n) { (void)rw, (void)p, (void)size, (void)n; return 0; }
static int SDLCALL pfs_close(SDL_RWops *rw) {
    int ok = PHYSFS_close((PHYSFS_File *)rw->hidden.unknown.data1);
    SDL_FreeRW(rw);
    return ok ? 0 : -1;
}
static SDL_RWops *physfs_rwops(const char *path) {
    PHYSFS_File *f = PHYSFS_openRead(path);
    SDL_RWops *rw;
    if (!f) return NULL;
    rw = SDL_AllocRW();
    rw->size = pfs_size, rw->seek = pfs_seek, rw->read = pfs_read, rw->write = pfs_write, rw->close = pfs_close;
    rw->hidden.unknown.data1 = f;
    return rw;
}

int main(int argc, char **argv) {
    buffdb_db *db = NULL;
    SDL_Surface *img, *disk, *got;
    Mix_Chunk *wav_disk, *wav_db, *wav_pfs;
    SDL_RWops *rw;
    if (!game_harness_init(argc, argv)) return 2;
    check("SDL_Init video+audio with the dummy drivers", SDL_Init(SDL_INIT_VIDEO | SDL_INIT_AUDIO) == 0);
    check("IMG_Init PNG", (IMG_Init(IMG_INIT_PNG) & IMG_INIT_PNG) != 0);
    check("Mix_OpenAudio (dummy)", Mix_OpenAudio(44100, MIX_DEFAULT_FORMAT, 2, 1024) == 0);

    img = make_image(173, 91);
    check("write a PNG and a BMP to disk (IMG_SavePNG, SDL_SaveBMP)", IMG_SavePNG(img, at("a.png")) == 0 && SDL_SaveBMP(img, at("a.bmp")) == 0);
    make_wav(at("a.wav"), 22050);
    check("open the database", buffdb_open(at("assets.buffdb"), NULL, &db) == BUFFDB_OK);
    store_file(db, at("a.png"), "/textures/a.png");
    store_file(db, at("a.bmp"), "/textures/a.bmp");
    store_file(db, at("a.wav"), "/sounds/a.wav");

    disk = IMG_Load(at("a.png"));
    got = IMG_Load_RW(buffdb_sdl_rwops(db, "/textures/a.png"), 1);
    check("IMG_Load_RW of a PNG: the same pixels as IMG_Load from disk", disk && same_pixels(disk, got));
    SDL_FreeSurface(disk), SDL_FreeSurface(got);

    disk = SDL_LoadBMP(at("a.bmp"));
    got = SDL_LoadBMP_RW(buffdb_sdl_rwops(db, "/textures/a.bmp"), 1);
    check("SDL_LoadBMP_RW: the same pixels as SDL_LoadBMP from disk", disk && same_pixels(disk, got));
    SDL_FreeSurface(got);

    wav_disk = Mix_LoadWAV(at("a.wav"));
    wav_db = Mix_LoadWAV_RW(buffdb_sdl_rwops(db, "/sounds/a.wav"), 1);
    check("Mix_LoadWAV_RW: the same samples as Mix_LoadWAV from disk", same_samples(wav_disk, wav_db));

    /* the same through PhysFS */
    check("PhysFS mount of the database", PHYSFS_init(argv[0]) && buffdb_physfs_register() && PHYSFS_mount(at("assets.buffdb"), "/", 1));
    got = IMG_Load_RW(physfs_rwops("textures/a.png"), 1);
    {
        SDL_Surface *png_disk = IMG_Load(at("a.png"));
        check("IMG_Load_RW through PhysFS: the same pixels as from disk", same_pixels(png_disk, got));
        SDL_FreeSurface(png_disk);
    }
    SDL_FreeSurface(got);
    wav_pfs = Mix_LoadWAV_RW(physfs_rwops("sounds/a.wav"), 1);
    check("Mix_LoadWAV_RW through PhysFS: the same samples as from disk", same_samples(wav_disk, wav_pfs));
    Mix_FreeChunk(wav_pfs), Mix_FreeChunk(wav_db), Mix_FreeChunk(wav_disk);
    PHYSFS_deinit();

    /* the read SDL_RWops itself */
    rw = buffdb_sdl_rwops(db, "/sounds/a.wav");
    {
        char four[4];
        Uint32 words[3];
        Sint64 size = SDL_RWsize(rw);
        check("SDL_RWsize is the stream size", size == 44 + 22050 * 4);
        check("read + tell", SDL_RWread(rw, four, 1, 4) == 4 && memcmp(four, "RIFF", 4) == 0 && SDL_RWtell(rw) == 4);
        check("seek SET/CUR/END", SDL_RWseek(rw, 8, RW_SEEK_SET) == 8 && SDL_RWread(rw, four, 4, 1) == 1 && memcmp(four, "WAVE", 4) == 0 &&
                                      SDL_RWseek(rw, -4, RW_SEEK_CUR) == 8 && SDL_RWseek(rw, -2, RW_SEEK_END) == size - 2);
        check("a partial object at the end is not counted, the position stays after the last whole one",
              SDL_RWseek(rw, -6, RW_SEEK_END) == size - 6 && SDL_RWread(rw, words, 4, 3) == 1 && SDL_RWtell(rw) == size - 2);
        check("seek before the start fails", SDL_RWseek(rw, -1, RW_SEEK_SET) == -1);
        check("past the end reads nothing", SDL_RWseek(rw, size + 10, RW_SEEK_SET) == size + 10 && SDL_RWread(rw, four, 1, 4) == 0);
        check("writing a read SDL_RWops fails", SDL_RWwrite(rw, "x", 1, 1) == 0);
        check("close", SDL_RWclose(rw) == 0);
    }
    check("a missing stream gives NULL and SDL_GetError says NOT_FOUND",
          buffdb_sdl_rwops(db, "/textures/none.png") == NULL && strstr(SDL_GetError(), "NOT_FOUND") != NULL);

    /* the writing SDL_RWops */
    rw = buffdb_sdl_rwops_write(db, "/saves/shot.bmp");
    {
        bool exists = true;
        check("SDL_SaveBMP_RW into a writer without closing it", rw && SDL_SaveBMP_RW(img, rw, 0) == 0 && SDL_RWtell(rw) > 0);
        buffdb_stream_exists(db, "/saves/shot.bmp", &exists);
        check("nothing is visible before SDL_RWclose", !exists);
        check("SDL_RWclose commits", SDL_RWclose(rw) == 0);
        got = SDL_LoadBMP_RW(buffdb_sdl_rwops(db, "/saves/shot.bmp"), 1);
        check("the saved BMP loads back with the same pixels", same_pixels(disk, got));
        SDL_FreeSurface(got);
    }
    {
        /* past the memory window the writer streams: sequential writes, no seeking back */
        static Uint8 big[1 << 20];
        size_t i;
        bool exists = true;
        for (i = 0; i < sizeof big; i++) big[i] = (Uint8)(i * 13 + (i >> 12));
        rw = buffdb_sdl_rwops_write(db, "/saves/big.bin");
        check("a writer seeks back within its memory window", rw && SDL_RWwrite(rw, big, 1, 1000) == 1000 && SDL_RWseek(rw, 10, RW_SEEK_SET) == 10 &&
                                                                   SDL_RWwrite(rw, big + 10, 1, 10) == 10 && SDL_RWseek(rw, 0, RW_SEEK_END) == 1000);
        check("a large sequential write streams", SDL_RWwrite(rw, big + 1000, 1000, (sizeof big - 1000) / 1000) == (sizeof big - 1000) / 1000 &&
                                                       SDL_RWsize(rw) == 1000 + (Sint64)((sizeof big - 1000) / 1000) * 1000);
        check("past the window a writer cannot seek back", SDL_RWseek(rw, 0, RW_SEEK_SET) == -1 && SDL_RWseek(rw, 0, RW_SEEK_CUR) == SDL_RWsize(rw));
        buffdb_stream_exists(db, "/saves/big.bin", &exists);
        check("a streaming writer shows nothing before close", !exists);
        check("close commits the streamed file", SDL_RWclose(rw) == 0);
        {
            Uint8 *back = malloc(sizeof big);
            size_t n = 0, want = 1000 + (sizeof big - 1000) / 1000 * 1000;
            buffdb_stream_read(db, "/saves/big.bin", back, sizeof big, &n);
            check("the streamed file reads back", n == want && memcmp(back, big, n) == 0);
            free(back);
        }
    }
    {
        buffdb_options *o = NULL;
        buffdb_db *small = NULL;
        bool exists = true;
        buffdb_options_new(&o);
        buffdb_options_set_max_document_size(o, 1000);
        buffdb_open(at("small.buffdb"), o, &small);
        buffdb_options_free(o);
        buffdb_stream_write(small, "/saves/shot.bmp", (const uint8_t *)"old", 3, NULL);
        rw = buffdb_sdl_rwops_write(small, "/saves/shot.bmp");
        check("a writer over the document limit: SDL_RWclose fails", rw && (SDL_SaveBMP_RW(img, rw, 0), SDL_RWclose(rw) == -1));
        buffdb_stream_exists(small, "/saves/shot.bmp", &exists);
        {
            uint8_t b[8];
            size_t n = 0;
            buffdb_stream_read(small, "/saves/shot.bmp", b, sizeof b, &n);
            check("the old version stays", exists && n == 3 && memcmp(b, "old", 3) == 0);
        }
        buffdb_close(small);
    }
    {
        buffdb_options *o = NULL;
        buffdb_db *ro = NULL;
        buffdb_options_new(&o);
        buffdb_options_set_read_only(o, true);
        buffdb_open(at("assets.buffdb"), o, &ro);
        buffdb_options_free(o);
        rw = buffdb_sdl_rwops_write(ro, "/x");
        if (rw) rw = (SDL_RWclose(rw), NULL);
        check("a writer on a read-only database: NULL, or a failing close", rw == NULL);
        buffdb_close(ro);
    }
    SDL_FreeSurface(disk);
    SDL_FreeSurface(img);
    buffdb_close(db);
    Mix_CloseAudio();
    IMG_Quit();
    SDL_Quit();
    return game_harness_finish();
}

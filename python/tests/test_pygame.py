"""pygame (SDL2 underneath) loads an image and a sound straight from BuffDB file objects,
with the dummy video and audio drivers; compared with loading the same files from disk."""

import os
import struct
import wave

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame")


def make_png(path):
    surf = pygame.Surface((97, 61), pygame.SRCALPHA, 32)
    for y in range(61):
        for x in range(97):
            surf.set_at((x, y), (x * 2 % 256, y * 4 % 256, (x ^ y) % 256, 255 - (x + y) % 64))
    pygame.image.save(surf, str(path))


def make_wav(path):
    frames = b"".join(struct.pack("<hh", (i * 331) % 20000 - 10000, 8000 if (i // 50) % 2 else -8000) for i in range(22050))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(frames)


def test_pygame_loads_an_image_and_a_sound_from_buffdb(db, tmp_path):
    png, wav = tmp_path / "a.png", tmp_path / "a.wav"
    make_png(png)
    make_wav(wav)
    db.stream_write("/textures/a.png", png.read_bytes())
    db.stream_write("/sounds/a.wav", wav.read_bytes())

    from_disk = pygame.image.load(str(png))
    with db.stream_open("/textures/a.png") as f:
        from_db = pygame.image.load(f, "a.png")
    assert from_db.get_size() == from_disk.get_size() == (97, 61)
    assert pygame.image.tobytes(from_db, "RGBA") == pygame.image.tobytes(from_disk, "RGBA")

    pygame.mixer.init(44100, -16, 2, 1024)
    try:
        disk_sound = pygame.mixer.Sound(str(wav))
        with db.stream_open("/sounds/a.wav") as f:
            db_sound = pygame.mixer.Sound(file=f)
        assert len(disk_sound.get_raw()) > 0
        assert db_sound.get_raw() == disk_sound.get_raw()
    finally:
        pygame.mixer.quit()

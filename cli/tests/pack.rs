//! `buffdb pack` / `buffdb unpack`, run as a user would.

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{buffdb, ok};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Deterministic bytes that snappy cannot shrink.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

fn asset_tree(root: &Path) {
    write(root, "textures/grass.png", &noise(70_000, 1));
    write(root, "textures/ui/font.png", &noise(5_000, 2));
    write(root, "levels/1/map.json", "{\"tiles\": [0, 0, 1, 1, 2]}\n".repeat(4000).as_bytes());
    write(root, "levels/2/map.json", b"{\"tiles\": []}\n");
    write(root, "sounds/theme.ogg", &noise(3 << 20, 3));
    write(root, "empty.txt", b"");
    write(root, "caf\u{e9}/men\u{fc}.txt", b"unicode names are fine");
}

/// Every file under `root` as (relative path, bytes), sorted.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push((p.strip_prefix(root).unwrap().to_path_buf(), fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn field(stat: &str, name: &str) -> u64 {
    stat.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap().parse().unwrap()
}

#[test]
fn pack_is_incremental_and_unpack_gives_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let (src, store) = (dir.path().join("src"), dir.path().join("assets.buffdb"));
    asset_tree(&src);

    let out = ok(&store, &["pack", s(&src)]);
    assert!(out.contains("packed 7 files") && out.contains("7 added, 0 changed, 0 unchanged, 0 deleted"), "{out}");
    assert_eq!(
        ok(&store, &["search", "/"]),
        "/caf\u{e9}/men\u{fc}.txt\n/empty.txt\n/levels/1/map.json\n/levels/2/map.json\n/sounds/theme.ogg\n/textures/grass.png\n/textures/ui/font.png\n"
    );
    // compression auto: the JSON is compressed, the PNG/OGG are stored as they are
    let json = ok(&store, &["stream", "stat", "/levels/1/map.json"]);
    assert!(field(&json, "stored_size") < field(&json, "size") / 4, "{json}");
    let ogg = ok(&store, &["stream", "stat", "/sounds/theme.ogg"]);
    assert!(field(&ogg, "stored_size") >= field(&ogg, "size"), "{ogg}");

    // again without changes: nothing is written
    let out = ok(&store, &["pack", s(&src)]);
    assert!(out.contains("0 added, 0 changed, 7 unchanged, 0 deleted"), "{out}");

    // one file changed with the same size, one added, one removed
    write(&src, "textures/grass.png", &noise(70_000, 9));
    write(&src, "textures/new.png", b"new");
    fs::remove_file(src.join("levels/2/map.json")).unwrap();
    let out = ok(&store, &["pack", s(&src)]);
    assert!(out.contains("1 added, 1 changed, 5 unchanged, 0 deleted"), "{out}");
    assert_eq!(ok(&store, &["stream", "versions", "/textures/grass.png"]).lines().count(), 2, "changed: a new version");
    assert_eq!(ok(&store, &["stream", "versions", "/sounds/theme.ogg"]).lines().count(), 1, "unchanged: untouched");
    assert!(buffdb(&store, &["stream", "stat", "/levels/2/map.json"], None).status.success(), "kept without --delete");
    let out = ok(&store, &["pack", "--delete", s(&src)]);
    assert!(out.contains("0 added, 0 changed, 7 unchanged, 1 deleted"), "{out}");
    assert_eq!(buffdb(&store, &["stream", "stat", "/levels/2/map.json"], None).status.code(), Some(1));

    // each version records its source's modification time, size and CRC-32
    let grass = src.join("textures/grass.png");
    let mtime = fs::metadata(&grass).unwrap().modified().unwrap();
    let ms = mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let md = ok(&store, &["query", "SELECT metadata FROM streams WHERE path = ?", "/textures/grass.png"]);
    let crc = crc32fast::hash(&fs::read(&grass).unwrap());
    assert!(md.contains(&format!("\"mtime_ms\":{ms},\"size\":70000,\"crc32\":\"{crc:08x}\"")), "{md}");

    // unpack everything: the same tree, byte for byte, with the modification times
    let back = dir.path().join("back");
    let out = ok(&store, &["unpack", "/", s(&back)]);
    assert!(out.contains("unpacked 7 files"), "{out}");
    assert_eq!(tree(&back), tree(&src));
    let back_ms = fs::metadata(back.join("textures/grass.png")).unwrap().modified().unwrap();
    assert_eq!(back_ms.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis(), ms);
    // unpack a prefix
    let tex = dir.path().join("tex");
    ok(&store, &["unpack", "/textures", s(&tex)]);
    assert_eq!(tree(&tex), tree(&src.join("textures")));

    // under a prefix of its own
    ok(&store, &["pack", "--prefix", "/mods/a/", s(&src.join("levels"))]);
    assert_eq!(ok(&store, &["search", "/mods/"]), "/mods/a/1/map.json\n");
}

#[test]
fn pack_refuses_a_bad_tree_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("assets.buffdb");
    let bad = |setup: &dyn Fn(&Path), expect: &str| {
        let src = dir.path().join(format!("src-{}", expect.replace(' ', "-")));
        write(&src, "good/a.txt", b"fine");
        setup(&src);
        let out = buffdb(&store, &["pack", s(&src)], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{expect}: {err}");
        assert!(err.contains(expect) && err.contains("nothing was written"), "{expect}: {err}");
        assert_eq!(ok(&store, &["search", "/"]), "", "{expect}: nothing may be written");
    };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        bad(&|src| std::os::unix::fs::symlink(src.join("good"), src.join("good/loop")).unwrap(), "symlink loop");
        bad(&|src| std::os::unix::fs::symlink("self", src.join("self")).unwrap(), "symlink loop");
        bad(&|src| fs::write(src.join(std::ffi::OsStr::from_bytes(b"bad\xff.png")), b"x").unwrap(), "not UTF-8");
        bad(&|src| std::os::unix::fs::symlink("missing-target", src.join("dangling.png")).unwrap(), "cannot read");
    }
    let out = buffdb(&store, &["pack", s(&dir.path().join("absent"))], None);
    assert_eq!(out.status.code(), Some(2), "a missing directory is a usage error");
}

#[test]
fn unpack_refuses_paths_that_would_leave_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.buffdb");
    let file = dir.path().join("f");
    fs::write(&file, b"x").unwrap();
    ok(&store, &["stream", "put", "/ok.txt", s(&file)]);
    ok(&store, &["stream", "put", "/a/../../evil.txt", s(&file)]);
    let out = buffdb(&store, &["unpack", "/", s(&dir.path().join("out"))], None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.path().join("evil.txt").exists() && !dir.path().join("out/ok.txt").exists(), "nothing is written");
}

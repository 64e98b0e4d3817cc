//! Encryption at rest on the command line: the key comes from a file (`--key-file` or
//! `BUFFDB_KEY_FILE`), never from the command line, which other users can see; `rekey`,
//! `encrypt` and `decrypt` each check their result. Needs the `encryption` feature
//! (the released command line has it).

use std::path::{Path, PathBuf};

use buffdb::{CheckReport, EncryptionKey, Error, ErrorCode};
use clap::Subcommand;

use crate::Outcome;

#[derive(Subcommand)]
pub enum Command {
    /// Change the key of the encrypted store (closed everywhere else): --key-file holds
    /// the current key, --new-key-file the new one; then checks the store.
    Rekey {
        /// File holding the new key (a passphrase, or x'<64 hex digits>' for a raw key).
        #[arg(long, value_name = "FILE", env = "BUFFDB_NEW_KEY_FILE")]
        new_key_file: PathBuf,
    },
    /// Write an encrypted copy of the plaintext store SRC to DST (a new file), under the
    /// key in --key-file; then checks the copy.
    Encrypt { src: PathBuf, dst: PathBuf },
    /// Write a plaintext copy of the encrypted store SRC (key in --key-file) to DST (a
    /// new file); then checks the copy.
    Decrypt { src: PathBuf, dst: PathBuf },
}

/// The key in `file`: its text (one trailing newline dropped) as a passphrase, or
/// `x'<64 hex digits>'` as a raw key; exactly 32 bytes that are not text are a raw key.
pub fn read_key(file: &Path) -> Result<EncryptionKey, Error> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(file).map_err(|e| {
        Error::new(ErrorCode::InvalidArgument, format!("cannot read the key file {}: {e}", file.display()))
    })?);
    let trimmed = bytes.strip_suffix(b"\n").map(|b| b.strip_suffix(b"\r").unwrap_or(b)).unwrap_or(&bytes);
    let key = match std::str::from_utf8(trimmed) {
        Ok(text) => EncryptionKey::passphrase(text),
        Err(_) if bytes.len() == 32 => EncryptionKey::raw(&bytes),
        Err(_) => Err(Error::new(ErrorCode::InvalidArgument, "a key file holds a passphrase (UTF-8 text) or 32 raw bytes")),
    };
    key.map_err(|e| Error::new(e.code(), format!("key file {}: {}", file.display(), e.message())))
}

/// The key of `--key-file`, which these commands need.
fn required(key_file: Option<&Path>) -> Result<EncryptionKey, Error> {
    read_key(key_file.ok_or_else(|| {
        Error::new(ErrorCode::InvalidArgument, "this command needs the key: give --key-file FILE or set BUFFDB_KEY_FILE")
    })?)
}

pub fn run(cmd: &Command, store: &Path, key_file: Option<&Path>) -> Result<Outcome, Error> {
    let key = required(key_file)?;
    let report = match cmd {
        Command::Rekey { new_key_file } => buffdb::rekey(store, &key, &read_key(new_key_file)?)?,
        Command::Encrypt { src, dst } => buffdb::encrypt(src, dst, &key)?,
        Command::Decrypt { src, dst } => buffdb::decrypt(src, dst, &key)?,
    };
    print_report(&report);
    Ok(Outcome::Ok)
}

fn print_report(r: &CheckReport) {
    println!("records checked: {}\nchunks checked: {}\nok", r.records_checked, r.chunks_checked);
}

//! `buffdb index create|drop|list` and `buffdb find`: secondary indexes over a JSON
//! value of each KV value, blob metadata or stream metadata (see docs/engine-api.md).

use std::io::{self, IsTerminal, Write};

use buffdb::{Error, ErrorCode, IndexEntry, IndexInfo, JsonValue, Record};

use crate::store::Store;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum Command {
    /// Secondary indexes: find records by a value inside their JSON.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Print the records of index NAME whose value is VALUE, or (with --from/--to) in a range.
    ///
    /// VALUE, A and B are JSON (`42`, `true`, `"text"`); anything that is not JSON is taken
    /// as a string (`ada@x` = `"ada@x"`). Prints `value<TAB>record` lines in index order.
    Find(FindArgs),
}

#[derive(Subcommand)]
pub enum IndexCommand {
    /// Create index NAME over SOURCE (kv, blob or stream) on the JSON value at PATH
    /// (`$.email`, `$.a.b[0]`, `$["odd key"]`), building it over the existing records.
    Create {
        name: String,
        source: String,
        path: String,
        /// Refuse two records with the same value (CONFLICT).
        #[arg(long)]
        unique: bool,
        /// Only records whose key or path starts with this.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Drop index NAME (exit 1 when it did not exist).
    Drop { name: String },
    /// List the indexes: name, source, path, unique, prefix, entries, ready.
    List,
}

#[derive(Args)]
pub struct FindArgs {
    name: String,
    /// The exact value (omit it for a range).
    value: Option<String>,
    /// The range's low end (inclusive).
    #[arg(long, value_name = "A")]
    from: Option<String>,
    /// The range's high end (inclusive).
    #[arg(long, value_name = "B")]
    to: Option<String>,
    /// Highest values first.
    #[arg(long)]
    reverse: bool,
    /// At most this many records.
    #[arg(long)]
    limit: Option<usize>,
}

/// A value given on the command line: JSON, or else a string.
fn value(s: &str) -> JsonValue {
    serde_json::from_str(s).unwrap_or_else(|_| JsonValue::String(s.to_string()))
}

fn record(r: &Record) -> String {
    match r {
        Record::Key(k) => String::from_utf8_lossy(k).into_owned(),
        Record::Blob(id) => id.to_string(),
        Record::Path(p) => p.clone(),
    }
}

pub fn run(store: &dyn Store, cmd: &Command, out: &mut dyn Write) -> Result<crate::Outcome, Error> {
    Ok(match cmd {
        Command::Index(IndexCommand::Create { name, source, path, unique, prefix }) => {
            let info = create(store, name, source, path, *unique, prefix.as_deref())?;
            writeln!(out, "{}: {} entries", info.name, info.entries)?;
            crate::Outcome::Ok
        }
        Command::Index(IndexCommand::Drop { name }) => {
            if store.drop_index(name)? {
                crate::Outcome::Ok
            } else {
                crate::Outcome::No(format!("no index {name:?}"))
            }
        }
        Command::Index(IndexCommand::List) => {
            for i in store.list_indexes()? {
                list_line(out, &i)?;
            }
            crate::Outcome::Ok
        }
        Command::Find(args) => find(store, out, args)?,
    })
}

/// Creates the index, with a progress bar on a terminal while it is built (locally).
fn create(
    store: &dyn Store,
    name: &str,
    source: &str,
    path: &str,
    unique: bool,
    prefix: Option<&str>,
) -> Result<IndexInfo, Error> {
    let bar = if io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("building {msg} [{bar:40}] {pos}/{len} records {per_sec} {eta}")
            .unwrap()
            .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    let info = store.create_index(name, source, path, unique, prefix.map(str::as_bytes), &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    });
    bar.finish_and_clear();
    info
}

fn list_line(out: &mut dyn Write, i: &IndexInfo) -> io::Result<()> {
    let prefix = i.key_prefix.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        i.name,
        i.source,
        i.json_path,
        if i.unique { "unique" } else { "-" },
        if prefix.is_empty() { "-".into() } else { prefix },
        i.entries,
        if i.ready { "ready" } else { "building" }
    )
}

fn find(store: &dyn Store, out: &mut dyn Write, args: &FindArgs) -> Result<crate::Outcome, Error> {
    let mut each = |e: IndexEntry| -> Result<(), Error> { Ok(writeln!(out, "{}\t{}", e.value, record(&e.record))?) };
    match &args.value {
        Some(v) if args.from.is_none() && args.to.is_none() => {
            store.find(&args.name, &value(v), args.limit, &mut each)?
        }
        Some(_) => return Err(Error::new(ErrorCode::InvalidArgument, "give VALUE or --from/--to, not both")),
        None => {
            let (lo, hi) = (args.from.as_deref().map(value), args.to.as_deref().map(value));
            store.find_range(&args.name, lo.as_ref(), hi.as_ref(), args.reverse, args.limit, &mut each)?
        }
    }
    Ok(crate::Outcome::Ok)
}

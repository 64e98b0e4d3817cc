//! The model registry (`buffdb::Models`) on `Db` and `Txn`, each operation once
//! (sync and `...Async`), emitted into both classes by `model_operations!` as
//! `operations!` does for the rest. Records cross as their stored JSON text, which
//! the JS layer (lib/buffdb.js) parses, so the field names are the stored ones.

use buffdb::{ModelInfo, Models, Ops};

/// A version's record from the fields the caller gave (JSON text of an object, which
/// the JS layer makes with `JSON.stringify`) plus its name and version.
pub fn model_info(name: String, version: String, info: Option<String>) -> buffdb::Result<ModelInfo> {
  let mut fields: serde_json::Map<String, serde_json::Value> = match info {
    None => Default::default(),
    Some(text) => serde_json::from_str(&text).map_err(|e| crate::err::invalid(format!("info must be an object of record fields ({e})")))?,
  };
  fields.insert("name".into(), name.into());
  fields.insert("version".into(), version.into());
  ModelInfo::from_json(serde_json::Value::Object(fields).to_string().as_bytes())
}

/// `files`: `[name, data]` pairs (the JS layer makes them from an object or a Map).
pub fn model_files(files: &Option<napi::Unknown>) -> buffdb::Result<Vec<(String, Vec<u8>)>> {
  let Some(files) = files else { return Ok(Vec::new()) };
  crate::conv::pairs(files, "files")?
    .into_iter()
    .map(|(n, d)| {
      let n = String::from_utf8(n.into_vec()).map_err(|_| crate::err::invalid("a file name must be UTF-8"))?;
      Ok((n, d.into_vec()))
    })
    .collect()
}

pub fn register(o: &impl Ops, info: &ModelInfo, files: &[(String, Vec<u8>)]) -> buffdb::Result<String> {
  let mut readers: Vec<&[u8]> = files.iter().map(|(_, d)| d.as_slice()).collect();
  let mut args: Vec<(&str, &mut dyn std::io::Read)> =
    files.iter().zip(readers.iter_mut()).map(|((n, _), r)| (n.as_str(), r as &mut dyn std::io::Read)).collect();
  Ok(o.model_register_files(info, &mut args)?.to_json())
}

/// The records of a model's versions, oldest first, as one JSON array.
pub fn versions(o: &impl Ops, name: &str) -> buffdb::Result<String> {
  Ok(format!("[{}]", o.model_versions(name)?.iter().map(ModelInfo::to_json).collect::<Vec<_>>().join(",")))
}

/// A model's aliases as a JSON object alias -> version.
pub fn aliases(o: &impl Ops, name: &str) -> buffdb::Result<String> {
  Ok(o.model_aliases(name)?.into_iter().collect::<buffdb::JsonValue>().to_string())
}

/// The `#[napi]` methods of the registry for a class that implements `Target`.
macro_rules! model_operations {
  ($class:ident) => {
    #[napi]
    impl $class {
      #[napi(js_name = "_modelRegister")]
      pub fn model_register(&self, name: Unknown, version: Unknown, files: Option<Unknown>, info: Option<Unknown>) -> crate::err::Result<String> {
        let name = crate::conv::string(&name, "name").js()?;
        let version = crate::conv::string(&version, "version").js()?;
        let info = crate::conv::opt_string(&info, "info").js()?;
        let info = crate::model::model_info(name, version, info).js()?;
        let files = crate::model::model_files(&files).js()?;
        self.run(|o| crate::model::register(o, &info, &files))
      }

      #[napi(js_name = "_modelRegisterAsync")]
      pub fn model_register_async(&self, name: Unknown, version: Unknown, files: Option<Unknown>, info: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let version = crate::try_args!(crate::conv::string(&version, "version"));
        let info = crate::try_args!(crate::conv::opt_string(&info, "info"));
        let info = crate::try_args!(crate::model::model_info(name, version, info));
        let files = crate::try_args!(crate::model::model_files(&files));
        self.job(vec![], move |o| crate::model::register(o, &info, &files))
      }

      #[napi(js_name = "_modelGet")]
      pub fn model_get(&self, name: Unknown, version: Unknown) -> crate::err::Result<String> {
        let name = crate::conv::string(&name, "name").js()?;
        let version = crate::conv::string(&version, "version").js()?;
        self.run(|o| buffdb::Models::model_get(o, &name, &version).map(|i| i.to_json()))
      }

      #[napi(js_name = "_modelGetAsync")]
      pub fn model_get_async(&self, name: Unknown, version: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let version = crate::try_args!(crate::conv::string(&version, "version"));
        self.job(vec![], move |o| buffdb::Models::model_get(o, &name, &version).map(|i| i.to_json()))
      }

      /// The version `version` stands for (itself, or what the alias names), or null.
      #[napi(ts_return_type = "string | null")]
      pub fn model_resolve(&self, env: Env, name: Unknown, version: Unknown) -> crate::err::Result<crate::conv::JsUnknown> {
        let name = crate::conv::string(&name, "name").js()?;
        let version = crate::conv::string(&version, "version").js()?;
        self.run_js(&env, |o| buffdb::Models::model_resolve(o, &name, &version).map(crate::task::Out::NullableStr))
      }

      #[napi(ts_return_type = "Promise<string | null>")]
      pub fn model_resolve_async(&self, name: Unknown, version: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let version = crate::try_args!(crate::conv::string(&version, "version"));
        self.job(vec![], move |o| buffdb::Models::model_resolve(o, &name, &version).map(crate::task::Out::NullableStr))
      }

      /// Names of the registered models, sorted.
      #[napi]
      pub fn model_names(&self) -> crate::err::Result<Vec<String>> {
        self.run(|o| buffdb::Models::model_names(o, ))
      }

      #[napi(ts_return_type = "Promise<string[]>")]
      pub fn model_names_async(&self) -> AsyncTask<crate::task::Job> {
        self.job(vec![], move |o| buffdb::Models::model_names(o, ))
      }

      #[napi(js_name = "_modelVersions")]
      pub fn model_versions(&self, name: Unknown) -> crate::err::Result<String> {
        let name = crate::conv::string(&name, "name").js()?;
        self.run(|o| crate::model::versions(o, &name))
      }

      #[napi(js_name = "_modelVersionsAsync")]
      pub fn model_versions_async(&self, name: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        self.job(vec![], move |o| crate::model::versions(o, &name))
      }

      /// Deletes a version (its record, the files it wrote, the aliases naming it);
      /// whether it existed.
      #[napi]
      pub fn model_delete(&self, name: Unknown, version: Unknown) -> crate::err::Result<bool> {
        let name = crate::conv::string(&name, "name").js()?;
        let version = crate::conv::string(&version, "version").js()?;
        self.run(|o| buffdb::Models::model_delete(o, &name, &version))
      }

      #[napi(ts_return_type = "Promise<boolean>")]
      pub fn model_delete_async(&self, name: Unknown, version: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let version = crate::try_args!(crate::conv::string(&version, "version"));
        self.job(vec![], move |o| buffdb::Models::model_delete(o, &name, &version))
      }

      #[napi(js_name = "_modelAliases")]
      pub fn model_aliases(&self, name: Unknown) -> crate::err::Result<String> {
        let name = crate::conv::string(&name, "name").js()?;
        self.run(|o| crate::model::aliases(o, &name))
      }

      #[napi(js_name = "_modelAliasesAsync")]
      pub fn model_aliases_async(&self, name: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        self.job(vec![], move |o| crate::model::aliases(o, &name))
      }

      #[napi(js_name = "_modelSetAlias")]
      pub fn model_set_alias(&self, name: Unknown, alias: Unknown, version: Option<Unknown>) -> crate::err::Result<()> {
        let name = crate::conv::string(&name, "name").js()?;
        let alias = crate::conv::string(&alias, "alias").js()?;
        let version = crate::conv::opt_string(&version, "version").js()?;
        self.run(|o| buffdb::Models::model_set_alias(o, &name, &alias, version.as_deref()))
      }

      #[napi(js_name = "_modelSetAliasAsync")]
      pub fn model_set_alias_async(&self, name: Unknown, alias: Unknown, version: Option<Unknown>) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let alias = crate::try_args!(crate::conv::string(&alias, "alias"));
        let version = crate::try_args!(crate::conv::opt_string(&version, "version"));
        self.job(vec![], move |o| buffdb::Models::model_set_alias(o, &name, &alias, version.as_deref()))
      }

      /// Opens one file of a version (or alias) as a Reader (seek / readAt read only
      /// the bytes asked for).
      #[napi]
      pub fn model_open(&self, name: Unknown, version: Unknown, file: Unknown) -> crate::err::Result<crate::io::JsReader> {
        let name = crate::conv::string(&name, "name").js()?;
        let version = crate::conv::string(&version, "version").js()?;
        let file = crate::conv::string(&file, "file").js()?;
        self.run(|o| buffdb::Models::model_open(o, &name, &version, &file)).map(crate::io::JsReader::new)
      }

      #[napi(ts_return_type = "Promise<Reader>")]
      pub fn model_open_async(&self, name: Unknown, version: Unknown, file: Unknown) -> AsyncTask<crate::task::Job> {
        let name = crate::try_args!(crate::conv::string(&name, "name"));
        let version = crate::try_args!(crate::conv::string(&version, "version"));
        let file = crate::try_args!(crate::conv::string(&file, "file"));
        self.job(vec![], move |o| buffdb::Models::model_open(o, &name, &version, &file))
      }
    }
  };
}

pub(crate) use model_operations;

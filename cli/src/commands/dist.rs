//! What a distribution ships beside the binary: shell completions (`vcd completions SHELL`)
//! and manual pages (`vcd man --dir DIR`), both generated from the same clap definition the
//! binary parses with, so they cannot drift from it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write vcd.1 and one vcd-COMMAND.1 per subcommand into this directory (default: print
    /// vcd.1)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(mut cmd: clap::Command, a: CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "vcd", &mut out);
    crate::common::write_raw(&out)
}

fn render(cmd: &clap::Command) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut b)?;
    Ok(b)
}

pub fn man(cmd: clap::Command, a: ManArgs) -> Result<()> {
    let mut cmd = cmd;
    cmd.build();
    let Some(dir) = a.dir else {
        return crate::common::write_raw(&render(&cmd)?);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write(&dir.join("vcd.1"), &render(&cmd)?)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("vcd-{}", sub.get_name());
        let page = sub
            .clone()
            .display_name(&name)
            .bin_name(format!("vcd {}", sub.get_name()));
        write(&dir.join(format!("{name}.1")), &render(&page)?)?;
    }
    Ok(())
}

/// Written as a temp file renamed into place: a symlink at `path` is replaced, not followed.
fn write(path: &Path, b: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut t = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing {}", path.display()))?;
    t.write_all(b)?;
    let mut perms = t.as_file().metadata()?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    t.as_file().set_permissions(perms)?;
    t.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

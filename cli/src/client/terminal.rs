//! The terminal side of interactive mode: the line editor (rustyline), its
//! history file, where it draws, and putting the terminal back.
//!
//! rustyline draws on file descriptor 1. The prompt belongs on stderr, so
//! that stdout carries only replies (`upcase client > replies.txt` at a
//! terminal still shows the prompt and the typing). So, when stderr is a
//! terminal, the client keeps a copy of the real stdout for the replies and
//! points descriptor 1 at stderr for the editor. When stderr is not a
//! terminal (`2> log`), the editor is left on stdout, so that the person
//! still sees what they type.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use nix::sys::termios::{
    tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices, Termios,
};
use rustyline::config::{Config, EditMode};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use super::failure::Failure;

/// The textbook client's prompt.
pub(super) const PROMPT: &str = "Input lowercase sentence: ";

/// Lines of history kept.
const HISTORY_LEN: usize = 1000;

/// The line editor and where replies go.
pub(super) struct Terminal {
    editor: DefaultEditor,
    /// The history file, while reading and writing it works.
    history: Option<PathBuf>,
    /// The real stdout, for the replies (taken by the socket reader).
    replies: Option<File>,
    /// The terminal's settings before the editor changed them.
    saved: Option<Termios>,
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.restorer().restore();
    }
}

/// Puts the terminal back as it was, from any thread: used when the server
/// closes while the editor holds the terminal in raw mode and the process
/// ends from the socket reader's thread.
#[derive(Clone)]
pub(super) struct Restorer {
    saved: Option<Termios>,
}

impl Restorer {
    /// Restores the saved settings (best effort: the process is ending),
    /// and ends a synchronized-output block the editor may have been in the
    /// middle of (terminals ignore the sequence otherwise).
    pub(super) fn restore(&self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
        }
        // Descriptor 1 is where the editor draws (see the module docs).
        let mut editor_out = io::stdout();
        if editor_out.is_terminal() {
            let _ = editor_out
                .write_all(b"\x1b[?2026l")
                .and_then(|()| editor_out.flush());
        }
    }
}

impl Terminal {
    /// Sets up the editor on stdin, drawing on stderr (see the module
    /// docs), with `history` loaded if given and readable.
    pub(super) fn open(history: Option<PathBuf>) -> Result<Self, Failure> {
        let saved = tcgetattr(io::stdin()).ok();
        let replies = editor_on_stderr()?;
        let config = Config::builder()
            .edit_mode(EditMode::Emacs)
            .auto_add_history(true)
            // A pasted block is sent line by line, as typed lines are:
            // each line is one message with one reply.
            .bracketed_paste(false)
            .max_history_size(HISTORY_LEN)
            .and_then(|config| config.history_ignore_dups(true))
            .map_err(|err| Failure::Io(format!("cannot set up the line editor: {err}")))?
            .build();
        let mut editor = DefaultEditor::with_config(config)
            .map_err(|err| Failure::Io(format!("cannot set up the line editor: {err}")))?;
        let history = history.and_then(|path| load_history(&mut editor, path));
        let terminal = Self {
            editor,
            history,
            replies: Some(replies),
            saved,
        };
        terminal.hold_keys();
        Ok(terminal)
    }

    /// Between lines (while a reply is owed, and before the first prompt):
    /// no line discipline and no echo, so keys typed ahead wait for the
    /// editor as they were typed. In the terminal's cooked mode, a Ctrl-D
    /// typed ahead would become an end of file that the editor, switching
    /// to raw mode, never sees. (The editor restores this state, not the
    /// cooked one, after each line; `Drop` restores the original.) Output
    /// processing and signals stay on: replies' newlines, and Ctrl-C to
    /// give up a wait.
    fn hold_keys(&self) {
        let Some(saved) = &self.saved else { return };
        if !editor_supported() {
            return; // the editor reads cooked lines there: keep the echo
        }
        let mut held = saved.clone();
        held.local_flags
            .remove(LocalFlags::ICANON | LocalFlags::ECHO);
        held.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        held.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &held);
    }

    /// Where replies go (the real stdout); `None` after the first call.
    pub(super) fn take_replies(&mut self) -> Option<File> {
        self.replies.take()
    }

    /// What can put the terminal back from another thread.
    pub(super) fn restorer(&self) -> Restorer {
        Restorer {
            saved: self.saved.clone(),
        }
    }

    /// Prompts and reads one line. `None`: Ctrl-D on an empty line. Ctrl-C
    /// clears the line and prompts again. The line is added to the history
    /// file at once, so it survives however the session ends.
    pub(super) fn read_line(&mut self) -> Result<Option<String>, Failure> {
        loop {
            match self.editor.readline(PROMPT) {
                Ok(line) => {
                    self.save_history();
                    return Ok(Some(line));
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => {
                    if !editor_supported() {
                        // The editor ends its own line; cooked reading does not.
                        eprintln!();
                    }
                    return Ok(None);
                }
                Err(err) => return Err(Failure::Io(format!("cannot read the terminal: {err}"))),
            }
        }
    }

    /// Appends the new line to the history file. A failure is said once,
    /// and history is then kept in memory only.
    fn save_history(&mut self) {
        let Some(path) = &self.history else { return };
        let result = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
            _ => Ok(()),
        }
        .map_err(ReadlineError::from)
        .and_then(|()| self.editor.append_history(path));
        if let Err(err) = result {
            eprintln!(
                "upcase client: cannot write the history file {}: {err}; \
                 history is not saved for this session",
                path.display()
            );
            self.history = None;
        }
    }
}

/// Whether rustyline edits on this terminal: not on the terminals it
/// lists as unsupported, where it reads lines as the terminal gives them.
fn editor_supported() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    !["dumb", "cons25", "emacs"]
        .iter()
        .any(|unsupported| term.eq_ignore_ascii_case(unsupported))
}

/// Points descriptor 1 at stderr when stderr is a terminal, and returns a
/// copy of the real stdout for the replies.
fn editor_on_stderr() -> Result<File, Failure> {
    let setup = |err: nix::Error| Failure::Io(format!("cannot set up the terminal: {err}"));
    let replies = File::from(nix::unistd::dup(io::stdout()).map_err(setup)?);
    if io::stderr().is_terminal() {
        nix::unistd::dup2_stdout(io::stderr()).map_err(setup)?;
    }
    Ok(replies)
}

/// Loads the history file. A missing file is a first session; another
/// error is said once, and history then stays in memory.
fn load_history(editor: &mut DefaultEditor, path: PathBuf) -> Option<PathBuf> {
    match editor.load_history(&path) {
        Ok(()) => Some(path),
        Err(ReadlineError::Io(err)) if err.kind() == io::ErrorKind::NotFound => Some(path),
        Err(err) => {
            eprintln!(
                "upcase client: cannot read the history file {}: {err}; \
                 history is not saved for this session (--no-history turns it off)",
                path.display()
            );
            None
        }
    }
}

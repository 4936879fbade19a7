//! The textbook TCP uppercasing server done right, in blocking std code:
//! a thread per client, and the codec as a `Read` adapter, so a character
//! split across reads, a message longer than one read, or one that is not
//! UTF-8 at all is handled and nothing is lost.
//!
//! `cargo run --example textbook_std [ADDR]` (default 127.0.0.1:12000),
//! then connect with the textbook client or `nc 127.0.0.1 12000`.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::thread;

use upcase::io::UpcaseReader;

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:12000".into());
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    serve(listener)
}

/// Accepts clients forever, each on its own thread.
fn serve(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || {
            if let Err(err) = handle(&stream) {
                eprintln!("client {:?}: {err}", stream.peer_addr());
            }
        });
    }
    Ok(())
}

/// Sends back the uppercase of everything the client sends, as it arrives,
/// until the client closes its side; then closes ours.
fn handle(stream: &TcpStream) -> io::Result<()> {
    let mut upper = UpcaseReader::new(stream);
    io::copy(&mut upper, &mut &*stream)?;
    stream.shutdown(std::net::Shutdown::Write)
}

#[cfg(test)]
#[path = "support/textbook_client.rs"]
mod textbook_client;

#[test]
fn answers_the_textbook_client() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || serve(listener));
    textbook_client::check(addr);
}

//! The uppercasing server on smol, through the futures-io adapter: each
//! connection copies an `UpcaseReader` of the socket back into it.
//!
//! `cargo run --example smol_server [ADDR]` (default 127.0.0.1:12000).

use std::io;

use smol::net::{TcpListener, TcpStream};
use upcase::io::futures::UpcaseReader;

fn main() -> io::Result<()> {
    smol::block_on(async {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:12000".into());
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        serve(listener).await
    })
}

/// Accepts clients forever, each in its own task.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        smol::spawn(async move {
            if let Err(err) = handle(stream).await {
                eprintln!("client {peer}: {err}");
            }
        })
        .detach();
    }
}

/// Sends back the uppercase of everything the client sends, as it arrives;
/// at its end of stream, the held tail, then our end of stream.
async fn handle(stream: TcpStream) -> io::Result<()> {
    let mut writer = stream.clone();
    smol::io::copy(UpcaseReader::new(stream), &mut writer).await?;
    writer.shutdown(std::net::Shutdown::Write)
}

#[cfg(test)]
#[path = "support/textbook_client.rs"]
mod textbook_client;

#[test]
fn answers_the_textbook_client() {
    let listener = smol::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || smol::block_on(serve(listener)));
    textbook_client::check(addr);
}

//! A real `mdm serve` for API tests: the binary on `127.0.0.1:0` against the case's own
//! database, spoken to over HTTP with a blocking client. Restartable, to test what survives.

use crate::helpers::{run_ok, text, Case};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Server {
    child: Child,
    pub base: String,
    client: reqwest::blocking::Client,
}

/// Environment for every server of a test (e.g. `MDM__SERVER__TOKEN_CACHE_SECS`).
pub type Env<'a> = &'a [(&'a str, &'a str)];

impl Server {
    /// Starts `mdm serve` in the case's directory (so `mdm.toml` there is read).
    pub fn start(case: &Case, env: Env<'_>) -> Server {
        let mut cmd = case.mdm();
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("mdm serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("mdm serve did not print its address");
            }
        };
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        Server {
            child,
            base,
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut rb = self.client.get(self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Reply::from(rb.send().expect("GET answered"))
    }

    pub fn post_json(&self, path: &str, token: Option<&str>, body: &serde_json::Value) -> Reply {
        self.post(
            path,
            token,
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut rb = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Reply::from(rb.send().expect("POST answered"))
    }

    /// Any method with an optional JSON body.
    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Reply {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Reply::from(rb.send().expect("request answered"))
    }

    /// Stops the server (SIGKILL: nothing may depend on a clean shutdown).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub request_id: Option<String>,
    pub body: String,
}

impl Reply {
    fn from(r: reqwest::blocking::Response) -> Reply {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Reply {
            status: r.status().as_u16(),
            content_type: header("content-type").unwrap_or_default(),
            request_id: header("x-request-id"),
            body: r.text().unwrap_or_default(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts a 2xx and returns the JSON body.
    pub fn ok(&self) -> serde_json::Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        self.json()
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {}: {}",
            self.content_type,
            self.body
        );
        let p = self.json();
        assert_eq!(p["code"], code, "{p}");
        assert_eq!(p["status"], status, "{p}");
        assert!(!p["detail"].as_str().unwrap_or("").is_empty(), "{p}");
        p
    }
}

impl Case {
    /// `mdm token create --role ROLE --label LABEL`: the printed token.
    pub fn labelled_token(&self, role: &str, label: &str) -> String {
        let out = run_ok(
            self.mdm()
                .args(["token", "create", "--role", role, "--label", label]),
        );
        text(&out.stdout).trim().to_string()
    }

    /// `mdm token create ...`: the printed token.
    pub fn token(&self, role: &str, system: Option<&str>) -> String {
        let mut cmd = self.mdm();
        cmd.args(["token", "create", "--role", role]);
        if let Some(s) = system {
            cmd.args(["--system", s]);
        }
        let out = run_ok(&mut cmd);
        text(&out.stdout).trim().to_string()
    }
}

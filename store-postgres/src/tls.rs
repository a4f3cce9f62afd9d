//! TLS for PostgreSQL connections with rustls (ring provider), following libpq's sslmode:
//! `prefer`/`require` encrypt without checking the certificate, `verify-ca` checks the chain
//! against `sslrootcert`, `verify-full` also checks the host name.

use std::sync::Arc;

use calstore::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::conninfo::{ConnSettings, SslMode};

/// The TLS connector for `settings`, or `None` when TLS is not attempted.
///
/// # Errors
///
/// Invalid input when the root certificate file cannot be read or holds no certificate.
pub(crate) fn connector(settings: &ConnSettings) -> Result<Option<MakeRustlsConnect>> {
    if !settings.uses_tls() {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid(format!("cannot set up TLS: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match settings.ssl_mode() {
        SslMode::VerifyFull => {
            let roots = Arc::new(load_roots(settings)?);
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| Error::invalid(format!("cannot set up TLS verification: {e}")))?
        }
        SslMode::VerifyCa => Arc::new(Unnamed {
            roots: Some(load_roots(settings)?),
            provider: provider.clone(),
        }),
        _ => Arc::new(Unnamed {
            roots: None,
            provider,
        }),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}

fn load_roots(settings: &ConnSettings) -> Result<RootCertStore> {
    let path = settings
        .ssl_root_cert()
        .ok_or_else(|| Error::invalid("certificate verification needs sslrootcert"))?;
    let pem = std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "cannot read the root certificate {}: {e}",
            path.display()
        ))
    })?;
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| {
            Error::invalid(format!(
                "cannot parse the root certificate {}: {e}",
                path.display()
            ))
        })?;
        roots.add(cert).map_err(|e| {
            Error::invalid(format!(
                "unusable root certificate in {}: {e}",
                path.display()
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(Error::invalid(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(roots)
}

/// The verifiers that do not check the host name. `verify-ca` (`roots` given): the chain must
/// lead to a trusted root. `prefer`/`require` (no roots): encryption against passive listeners
/// only, as in libpq. Either way the handshake signatures are checked, so the session keys belong
/// to the presented certificate.
#[derive(Debug)]
struct Unnamed {
    roots: Option<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Unnamed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

//! TLS: whom HTTPS trusts — the host's own verifier (the phone's trust: network security config, user and MDM CAs) when the app supplies one, else the operating system's store — plugged into the HTTP client as its TLS step.
//!
//! The chain check is the host's (`CertificateVerifier`: Kotlin `X509TrustManager`, Swift
//! `SecTrust`, a C callback); the host-name check and the handshake signatures stay in rustls, so
//! a verifier that only asks "is this chain trusted?" cannot let a certificate for another name
//! through. Without a host verifier the system store is used (`http.rs`, `root_certs`).

#[cfg(feature = "builtin-http")]
pub(crate) use connector::{HostRefusal, HostTlsConnector};

/// The rustls side: the verifier plugged into the built-in client's TLS step.
#[cfg(feature = "builtin-http")]
mod connector {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use crate::hooks::CertificateVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned,
    };
    use ureq::unversioned::transport::{
        Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
        TransportAdapter,
    };

    /// Why the host refused a chain (carried inside rustls' error to the message in `http.rs`).
    #[derive(Debug)]
    pub(crate) struct HostRefusal(pub String);

    impl std::fmt::Display for HostRefusal {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "refused by the platform's trust: {}", self.0)
        }
    }

    impl std::error::Error for HostRefusal {}

    /// rustls verifier that asks the host about the chain and checks the name and signatures itself.
    #[derive(Clone)]
    struct HostCertVerifier {
        host: Arc<dyn CertificateVerifier>,
        provider: Arc<CryptoProvider>,
    }

    impl std::fmt::Debug for HostCertVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("HostCertVerifier")
        }
    }

    impl ServerCertVerifier for HostCertVerifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            // The name first: the host only judges the chain.
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            let chain: Vec<Vec<u8>> = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.as_ref().to_vec())
                .collect();
            let name = server_name.to_str();
            let host = self.host.clone();
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                host.verify(&name, &chain)
            }));
            match answer {
                Ok(None) => Ok(ServerCertVerified::assertion()),
                Ok(Some(reason)) => Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Other(rustls::OtherError(Arc::new(HostRefusal(
                        reason,
                    )))),
                )),
                Err(_) => Err(rustls::Error::General(
                    "the app's certificate verifier failed".into(),
                )),
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
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
            rustls::crypto::verify_tls13_signature(
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

    /// The TLS step of the HTTP client when the host supplies a verifier.
    #[derive(Debug)]
    pub(crate) struct HostTlsConnector {
        config: Arc<ClientConfig>,
    }

    impl HostTlsConnector {
        /// A connector that trusts what `host` trusts.
        pub(crate) fn new(host: Arc<dyn CertificateVerifier>) -> Result<Self, rustls::Error> {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = HostCertVerifier {
                host,
                provider: provider.clone(),
            };
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            Ok(Self {
                config: Arc::new(config),
            })
        }
    }

    impl<In: Transport> Connector<In> for HostTlsConnector {
        type Out = Either<In, HostTlsTransport>;

        fn connect(
            &self,
            details: &ConnectionDetails,
            chained: Option<In>,
        ) -> Result<Option<Self::Out>, ureq::Error> {
            let Some(transport) = chained else {
                return Err(ureq::Error::Tls("no connection to run TLS over"));
            };
            if !details.needs_tls() || transport.is_tls() {
                return Ok(Some(Either::A(transport)));
            }
            let host = details
                .uri
                .host()
                .ok_or(ureq::Error::Tls("the URL has no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let name =
                ServerName::try_from(host).map_err(|_| ureq::Error::Tls("invalid host name"))?;
            let mut conn = ClientConnection::new(self.config.clone(), name)?;
            let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
            sock.set_timeout(details.timeout);
            conn.complete_io(&mut sock)?;
            let buffers = LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            );
            Ok(Some(Either::B(HostTlsTransport {
                buffers,
                stream: StreamOwned { conn, sock },
            })))
        }
    }

    /// An HTTPS connection made by [`HostTlsConnector`].
    pub(crate) struct HostTlsTransport {
        buffers: LazyBuffers,
        stream: StreamOwned<ClientConnection, TransportAdapter>,
    }

    impl std::fmt::Debug for HostTlsTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("HostTlsTransport")
        }
    }

    impl Transport for HostTlsTransport {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }

        fn transmit_output(
            &mut self,
            amount: usize,
            timeout: NextTimeout,
        ) -> Result<(), ureq::Error> {
            self.stream.get_mut().set_timeout(timeout);
            let output = &self.buffers.output()[..amount];
            self.stream.write_all(output)?;
            Ok(())
        }

        fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
            self.stream.get_mut().set_timeout(timeout);
            let input = self.buffers.input_append_buf();
            let amount = self.stream.read(input)?;
            self.buffers.input_appended(amount);
            Ok(amount > 0)
        }

        fn is_open(&mut self) -> bool {
            self.stream.get_mut().get_mut().is_open()
        }

        fn is_tls(&self) -> bool {
            true
        }
    }
}

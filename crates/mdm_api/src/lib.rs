//! The HTTP edge (actix-web): routes translate HTTP into `mdm_service` calls and back.

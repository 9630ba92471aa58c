use acci_core::prelude::*;

mod v1 {
    use acci_core::prelude::*;

    #[event(name = "OpenedV1")]
    pub struct Opened {
        pub owner: String,
    }
}

mod v2 {
    use acci_core::prelude::*;

    #[event]
    pub struct Opened {
        pub owner: String,
        pub currency: String,
    }
}

#[derive(Aggregate, Default)]
#[aggregate(events(v1::Opened, v2::Opened))]
pub struct Account {
    owner: String,
}

impl Apply<v1::Opened> for Account {
    fn apply(&mut self, event: &v1::Opened) {
        self.owner.clone_from(&event.owner);
    }
}

impl Apply<v2::Opened> for Account {
    fn apply(&mut self, event: &v2::Opened) {
        self.owner.clone_from(&event.owner);
    }
}

fn main() {}

"""The inquiry form: collecting a visitor's contact details and handing the lead over."""
